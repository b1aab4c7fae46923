"""GradSHAP(t)'s estimators: every reference row x path points, and the default.

References are Captum's own algorithms looped over targets: IntegratedGradients with
Gauss-Legendre nodes from each reference row (the deterministic variant is their mean) and
Saliency at the same random path points (uniform and stratified draws).
"""

from __future__ import annotations

import pytest
import torch
from captum.attr import IntegratedGradients, Saliency

import captum_surv
from captum_surv import explain
from captum_surv.attr.methods import DEFAULT_PATH_POINTS, MAX_PATH_POINTS
from tests.zoo import build


@pytest.fixture(scope="module")
def coxph():
    return build("coxph")


@pytest.fixture(scope="module")
def deephit():
    return build("deephit")


def _per_target(fwd, fn):
    return torch.stack([fn(k) for k in range(fwd.n_times)], dim=1)


def test_default_is_every_row_times_gauss_legendre(deephit):
    model, x = deephit
    fwd = captum_surv.from_pycox(model, output="cif", event=1, times=4)
    inputs, refs = x[:3].double(), x[100:104].double()
    expl = explain(fwd, inputs, "gradshap", refs)
    assert expl.options["sampling"] == "gausslegendre"
    assert expl.options["path_points"] == DEFAULT_PATH_POINTS
    assert expl.options["gradients_per_instance"] == 4 * DEFAULT_PATH_POINTS
    # deterministic without a seed; n_steps is an alias of path_points
    again = explain(fwd, inputs, "gradshap", refs, sampling="gausslegendre", n_steps=16)
    assert torch.equal(expl.attributions, again.attributions)
    # the mean over reference rows of Captum's Gauss-Legendre IntegratedGradients
    ig = IntegratedGradients(fwd)
    reference = torch.stack(
        [
            _per_target(
                fwd,
                lambda k, r=r: ig.attribute(
                    inputs, r.expand_as(inputs), target=k, n_steps=16, method="gausslegendre"
                ),
            )
            for r in refs
        ]
    ).mean(dim=0)
    assert torch.allclose(expl.attributions, reference, atol=1e-10)


@pytest.mark.parametrize("sampling", ["uniform", "stratified"])
def test_paper_estimators_match_saliency_at_the_same_points(coxph, sampling):
    model, x = coxph
    fwd = captum_surv.from_pycox(model, times=5)
    inputs, refs = x[:2].double(), x[100:103].double()
    k = 4
    expl = explain(fwd, inputs, "gradshap", refs, sampling=sampling, path_points=k, seed=9)
    assert expl.options["gradients_per_instance"] == 3 * k

    u = torch.rand((2 * 3, k), generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    if sampling == "stratified":
        u = (torch.arange(k) + u) / k
        assert ((u >= torch.arange(k) / k) & (u < (torch.arange(k) + 1) / k)).all()
    alpha = u.reshape(2, 3, k, 1)
    delta = inputs[:, None, None, :] - refs[None, :, None, :]  # [2, 3, 1, F]
    points = (refs[None, :, None, :] + alpha * delta).reshape(-1, 5)
    saliency = Saliency(fwd)
    grads = _per_target(fwd, lambda t: saliency.attribute(points, target=t, abs=False))
    grads = grads.reshape(2, 3, k, fwd.n_times, 5)
    reference = (grads * delta.unsqueeze(3)).mean(dim=(1, 2))
    assert torch.allclose(expl.attributions, reference, atol=1e-10)
    # seeded: reproducible
    again = explain(fwd, inputs, "gradshap", refs, sampling=sampling, path_points=k, seed=9)
    assert torch.equal(expl.attributions, again.attributions)


def test_tolerance_raises_path_points(coxph):
    model, x = coxph
    fwd = captum_surv.from_pycox(model, times=5)
    inputs, refs = x[:4].double(), x[100:105].double()
    coarse = explain(fwd, inputs, "gradshap", refs, path_points=1)
    assert coarse.local_accuracy().max().item() > 1e-8
    expl = explain(fwd, inputs, "gradshap", refs, path_points=1, tolerance=1e-8)
    assert expl.local_accuracy().max().item() <= 1e-8
    assert expl.options["path_points"] > 1
    assert expl.options["local_accuracy"] == pytest.approx(expl.local_accuracy().max().item())
    with pytest.warns(UserWarning, match="above tolerance"):
        capped = explain(
            fwd,
            inputs[:1],
            "gradshap",
            refs[:1],
            sampling="uniform",
            path_points=256,
            tolerance=1e-30,
            seed=0,
        )
    assert capped.options["path_points"] == MAX_PATH_POINTS


def test_option_errors(coxph):
    model, x = coxph
    fwd = captum_surv.from_pycox(model, times=4)
    refs = x[10:20]
    with pytest.raises(ValueError, match="pass sampling='random' with it"):
        explain(fwd, x[:2], "gradshap", refs, n_samples=50)
    with pytest.raises(ValueError, match="apply to the other samplings"):
        explain(fwd, x[:2], "gradshap", refs, sampling="random", path_points=5)
    with pytest.raises(ValueError, match="n_samples applies to sampling='random' only"):
        explain(fwd, x[:2], "gradshap", refs, sampling="uniform", n_samples=5)
    with pytest.raises(ValueError, match="sampling='sobol' is unknown"):
        explain(fwd, x[:2], "gradshap", refs, sampling="sobol")
    with pytest.raises(ValueError, match="path_points must be a positive integer"):
        explain(fwd, x[:2], "gradshap", refs, path_points=0)
    with pytest.raises(ValueError, match="tolerance must be a positive number"):
        explain(fwd, x[:2], "gradshap", refs, tolerance=0.0)
    with pytest.raises(ValueError, match="not both"):
        explain(fwd, x[:2], "gradshap", refs, path_points=4, n_steps=8)
