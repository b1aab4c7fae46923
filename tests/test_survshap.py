"""SurvSHAP(t) (``explain(..., "survshap")``) against brute-force Shapley values and survshap.

The reference is the Shapley formula itself: every coalition enumerated with itertools, its
value the mean over background rows of the forward with the other features taken from the
background row, combined with the weights |S|! (p - |S| - 1)! / p!. The peer comparison uses
survshap's exact ``kernel`` method (KernelSHAP over all coalitions), run when installed.
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import captum_surv
from captum_surv import explain
from tests.zoo import build, smooth_data

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
if str(_BENCH) not in sys.path:
    sys.path.insert(0, str(_BENCH))

import peers  # noqa: E402

KINDS = ["coxph", "coxtime", "deephit"]


@pytest.fixture(scope="module")
def models():
    cache: dict = {}

    def get(kind: str):
        if kind not in cache:
            cache[kind] = build(kind)
        return cache[kind]

    return get


def _brute_force(fwd, x, background, groups):
    """Shapley values [B, G, T] over ``groups`` (lists of feature indices), by enumeration."""
    n_players = len(groups)

    def value(row, coalition):
        z = background.clone()
        for g in coalition:
            z[:, groups[g]] = row[groups[g]]
        with torch.no_grad():
            return fwd(z).double().mean(dim=0)

    out = []
    for row in x:
        phi = []
        for j in range(n_players):
            others = [g for g in range(n_players) if g != j]
            total = 0.0
            for size in range(n_players):
                weight = math.factorial(size) * math.factorial(n_players - size - 1)
                weight /= math.factorial(n_players)
                for s in itertools.combinations(others, size):
                    total = total + weight * (value(row, (*s, j)) - value(row, s))
            phi.append(total)
        out.append(torch.stack(phi))
    return torch.stack(out)


@pytest.mark.parametrize("kind", KINDS)
def test_exact_equals_brute_force_and_is_locally_accurate(models, kind):
    model, x = models(kind)
    fwd = captum_surv.from_pycox(model, times=5)
    inputs, background = x[:3].double(), x[100:108].double()
    expl = explain(fwd, inputs, "survshap", background, batch_size=40)
    reference = _brute_force(fwd, inputs, background, [[j] for j in range(5)])
    assert torch.allclose(expl.attributions.transpose(1, 2), reference, atol=1e-12)
    assert expl.options["estimator"] == "exact" and expl.options["n_coalitions"] == 32
    # continuous features: every row is distinct except the empty and full coalitions
    assert expl.options["coalition_rows"] == (32 - 2) * 8 * 3
    # local accuracy up to floating point: sum_j phi_j = Out(x) - mean_m Out(b_m)
    assert expl.completeness_residual().abs().max().item() <= 1e-12
    mean_background = fwd(background).mean(dim=0).detach()
    assert torch.allclose(expl.reference_prediction[0], mean_background, atol=1e-12)


@pytest.mark.parametrize("kind", ["coxtime", "deephit"])
def test_rows_shared_by_instance_and_background_are_evaluated_once(models, kind):
    """Instances equal to background rows on some players (discrete data): fewer rows, same
    values as the brute-force Shapley formula."""
    model, x = models(kind)
    fwd = captum_surv.from_pycox(model, times=5)
    inputs, background = x[:2].double().clone(), x[100:108].double().clone()
    background[:4, :2] = inputs[0, :2]  # four rows share players 0 and 1 with instance 0
    background[5] = inputs[1]  # one row equals instance 1
    background[6, 4] = inputs[1, 4]
    expl = explain(fwd, inputs, "survshap", background, batch_size=10**7)  # one chunk
    reference = _brute_force(fwd, inputs, background, [[j] for j in range(5)])
    assert torch.allclose(expl.attributions.transpose(1, 2), reference, atol=1e-12)
    assert expl.completeness_residual().abs().max().item() <= 1e-12
    # distinct rows (x_S, b_-S) per instance and background row: 2^(players where they
    # differ), less the two (x itself and b itself) taken from the predictions; rows are
    # deduplicated within a chunk, so smaller chunks evaluate more of them
    chunked = explain(fwd, inputs, "survshap", background, batch_size=64)
    assert torch.allclose(chunked.attributions, expl.attributions, atol=1e-12)
    distinct = sum(
        max(2 ** int((inputs[i] != background[m]).sum()) - 2, 0) for i in range(2) for m in range(8)
    )
    assert expl.options["coalition_rows"] == distinct < (32 - 2) * 8 * 2
    assert distinct <= chunked.options["coalition_rows"] <= (32 - 2) * 8 * 2
    sampled = explain(fwd, inputs, "survshap", background, estimator="permutation", seed=0)
    assert sampled.completeness_residual().abs().max().item() <= 1e-12


def test_feature_groups_are_players(models):
    model, x = models("coxph")
    fwd = captum_surv.from_pycox(model, times=4, output="cumhazard")
    inputs, background = x[:2].double(), x[50:56].double()
    mask = torch.tensor([7, 7, 3, 9, 3])  # players {0, 1}, {2, 4}, {3}
    expl = explain(fwd, inputs, "survshap", background, feature_mask=mask)
    reference = _brute_force(fwd, inputs, background, [[2, 4], [0, 1], [3]])  # sorted ids
    grouped = expl.aggregate({"a": ["x2", "x4"], "b": ["x0", "x1"]})
    got = grouped.flat_attributions().transpose(1, 2)  # groups first, then x3
    names = grouped.all_feature_names
    order = [names.index("a"), names.index("b"), names.index("x3")]
    assert torch.allclose(got[:, order], reference, atol=1e-12)
    # a group's value is shared equally by its members
    assert torch.allclose(expl.attributions[..., 0], expl.attributions[..., 1])
    assert expl.completeness_residual().abs().max().item() <= 1e-12


def test_permutation_estimator(models):
    model, x = models("coxph")
    fwd = captum_surv.from_pycox(model, times=4)
    inputs, background = x[:3].double(), x[60:70].double()
    exact = explain(fwd, inputs, "survshap", background)
    a = explain(fwd, inputs, "survshap", background, estimator="permutation", seed=1)
    b = explain(fwd, inputs, "survshap", background, estimator="permutation", seed=1, batch_size=7)
    c = explain(fwd, inputs, "survshap", background, estimator="permutation", seed=2)
    assert torch.allclose(a.attributions, b.attributions, atol=1e-12)  # seeded, chunk-free
    assert not torch.allclose(a.attributions, c.attributions)
    # every permutation path telescopes: locally accurate whatever the draws
    assert a.completeness_residual().abs().max().item() <= 1e-12
    # unbiased with a working standard error: within 5 SE of the exact values
    err = (a.attributions - exact.attributions).abs()
    assert a.standard_error.shape == a.attributions.shape
    assert (err <= 5 * a.standard_error + 1e-9).all()
    assert a.standard_error.max().item() > 0
    # two players: a random order and its reverse are all orders, so the estimate is exact
    mask = torch.tensor([0, 0, 1, 1, 1])
    exact2 = explain(fwd, inputs, "survshap", background, feature_mask=mask)
    perm2 = explain(
        fwd,
        inputs,
        "survshap",
        background,
        feature_mask=mask,
        estimator="permutation",
        n_permutations=2,
        seed=0,
    )
    assert torch.allclose(perm2.attributions, exact2.attributions, atol=1e-12)


def test_bad_arguments(models):
    model, x = models("coxph")
    fwd = captum_surv.from_pycox(model, times=4)
    with pytest.raises(ValueError, match="needs background data"):
        explain(fwd, x[:2], "survshap")
    with pytest.raises(ValueError, match="estimator='kernel' is unknown"):
        explain(fwd, x[:2], "survshap", x[10:20], estimator="kernel")
    with pytest.raises(ValueError, match="n_permutations must be an even"):
        explain(fwd, x[:2], "survshap", x[10:20], estimator="permutation", n_permutations=3)
    with pytest.raises(ValueError, match="integer group ids"):
        explain(fwd, x[:2], "survshap", x[10:20], feature_mask=torch.zeros(5))
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['n_samples'\]"):
        explain(fwd, x[:2], "survshap", x[10:20], n_samples=10)
    with pytest.raises(ValueError, match="one group id per feature"):
        explain(fwd, x[:2], "survshap", x[10:20], feature_mask=torch.zeros(4, dtype=torch.long))


@pytest.mark.skipif(not peers.available("survshap"), reason=peers.missing_reason("survshap"))
@pytest.mark.parametrize("kind", KINDS)
def test_equals_survshap_exact_kernel(models, kind):
    model, x = models(kind)
    fwd = captum_surv.from_pycox(model, times=6)
    _, durations, events = smooth_data()
    background = x[100:120].numpy()
    peer = peers.SurvSHAP(fwd, background, durations[100:120], events[100:120], method="kernel")
    inputs = x[:2]
    ours = explain(fwd, inputs, "survshap", torch.as_tensor(background))
    for i in range(2):
        theirs = peer.explain_one(inputs[i].numpy())  # [T, p]
        np.testing.assert_allclose(ours.attributions[i].double().numpy(), theirs, atol=1e-5)
    # survshap as a user runs it on the pycox model: pycox's own predict_surv_df
    saved = (
        getattr(model, "baseline_hazards_", None),
        getattr(model, "baseline_cumulative_hazards_", None),
    )
    try:
        if kind == "coxtime":  # pycox loops over the jump times: a baseline with few of them
            target = model.labtrans.transform(durations[:25], events[:25])
            captum_surv.compute_coxtime_baseline_hazards(model, x[:25], target, set_hazards=True)
            fwd = captum_surv.from_pycox(model, times=6)
            ours = explain(fwd, inputs[:1], "survshap", torch.as_tensor(background))
        user = peers.SurvSHAP(
            fwd, background, durations[100:120], events[100:120], method="kernel", pycox_model=model
        )
        theirs = user.explain_one(inputs[0].numpy())
    finally:  # the model is shared by the module's tests
        model.baseline_hazards_, model.baseline_cumulative_hazards_ = saved
    np.testing.assert_allclose(ours.attributions[0].double().numpy(), theirs, atol=1e-5)


def test_standard_error_survives_save_and_load(models, tmp_path):
    """Regression: SurvExplanation.save/load dropped the sampling estimator's standard error."""
    model, x = models("coxph")
    fwd = captum_surv.from_pycox(model, times=4)
    inputs, background = x[:2].double(), x[60:66].double()
    sampled = explain(fwd, inputs, "survshap", background, estimator="permutation", seed=3)
    path = tmp_path / "survshap.pt"
    sampled.save(path)
    loaded = captum_surv.SurvExplanation.load(path)
    assert loaded.standard_error is not None
    assert torch.equal(loaded.standard_error, sampled.standard_error)
    exact = explain(fwd, inputs, "survshap", background)
    exact.save(path)
    assert captum_surv.SurvExplanation.load(path).standard_error is None
