"""Permutation importance, PDP/ICE, ALE and the conditional-survival output.

References are independent of the code under test: scikit-survival's metrics on rows
permuted here, forwards averaged by hand, ALE's closed form on a linear-log-risk Cox model,
and ratios of the unconditional forward.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torchtuples as tt
from pycox import models as pm
from sksurv import metrics
from sksurv.util import Surv
from torch import nn

import captum_surv
from captum_surv import (
    FeatureEffect,
    PermutationImportance,
    accumulated_local_effects,
    datasets,
    explain,
    partial_dependence,
    permutation_importance,
)
from tests import zoo
from tests.zoo import build

warnings.filterwarnings("ignore", category=UserWarning)

BETA = torch.tensor([[0.75, -0.5, 0.25]], dtype=torch.float64)  # exact in float32


@pytest.fixture(scope="module")
def linear_cox():
    """A Cox model whose log-risk is exactly ``x @ BETA`` (Breslow baseline from data)."""
    data = datasets.simulate_time_independent(n=400, seed=3)
    net = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(BETA.float())
    model = pm.CoxPH(net, tt.optim.Adam(0.01))
    x = torch.as_tensor(data.features)
    model.compute_baseline_hazards(input=x, target=(data.durations, data.events))
    return model, x.double(), data


@pytest.fixture(scope="module")
def trained_time_independent():
    """A DeepSurv trained briefly on the paper's time-independent simulation."""
    torch.manual_seed(0)
    data = datasets.simulate_time_independent(n=1200, seed=0)
    train, test = datasets.train_test_split(data, test_size=0.3, seed=0)
    options = {"hidden": (16,), "batch_norm": False, "dropout": 0.0, "activation": nn.Tanh}
    model, _ = zoo.train(
        "CoxPH", train.features, *train.target(), batch_size=128, epochs=25, **options
    )
    return model, train, test


# ============================================================================ importance
def _direct_loss(loss, survival, times, test, train):
    risk = 1.0 - survival
    if loss == "brier":
        return metrics.brier_score(train, test, survival, times)[1]
    if loss == "auc":
        return 1.0 - metrics.cumulative_dynamic_auc(train, test, risk, times)[0]
    if loss == "c_index":
        return np.array(
            [
                1.0 - metrics.concordance_index_censored(test["event"], test["time"], risk[:, k])[0]
                for k in range(len(times))
            ]
        )
    return np.array(
        [
            1.0 - metrics.concordance_index_ipcw(train, test, risk[:, k], tau=t)[0]
            for k, t in enumerate(times)
        ]
    )


@pytest.mark.parametrize("loss", ["brier", "c_index", "uno_c_index", "auc"])
def test_permutation_importance_equals_direct_recomputation(trained_time_independent, loss):
    model, train, test = trained_time_independent
    fwd = captum_surv.from_pycox(model, times=np.linspace(0.8, 5.0, 6))
    x = torch.as_tensor(test.features)
    imp = permutation_importance(
        fwd, x, test.durations, test.events, loss, n_repeats=2, seed=7, train=train.target()
    )
    st = Surv.from_arrays(test.events.astype(bool), test.durations.astype(np.float64))
    sr = Surv.from_arrays(train.events.astype(bool), train.durations.astype(np.float64))
    with torch.no_grad():
        base = _direct_loss(loss, fwd(x).double().numpy(), imp.times, st, sr)
    np.testing.assert_allclose(imp.baseline_curve, base, rtol=0, atol=1e-12)
    for g in range(3):
        for r in range(2):
            perm = imp.permutations[g, r]
            assert sorted(perm.tolist()) == list(range(len(x)))
            shuffled = x.clone()
            shuffled[:, g] = x[perm, g]
            with torch.no_grad():
                direct = _direct_loss(loss, fwd(shuffled).double().numpy(), imp.times, st, sr)
            np.testing.assert_allclose(imp.permuted_curves[g, r], direct, rtol=0, atol=1e-12)
    if loss == "brier":
        with torch.no_grad():
            ibs = metrics.integrated_brier_score(sr, st, fwd(x).double().numpy(), imp.times)
        assert imp.baseline_integrated == pytest.approx(ibs, abs=1e-12)


def test_permutation_importance_ranks_the_true_order(trained_time_independent):
    model, train, test = trained_time_independent
    fwd = captum_surv.from_pycox(model, times=np.linspace(0.8, 5.0, 8))
    truth = list(test.ground_truth.importance_order)
    assert truth == ["x1", "x2", "x3"]
    for loss in ("brier", "c_index"):
        imp = permutation_importance(
            fwd, test.frame, test.durations, test.events, loss, n_repeats=3, seed=0
        )
        assert imp.ranking() == truth, (loss, imp.integrated())
        # at every time point too
        curves = imp.importance()
        assert (curves["x1"] > curves["x2"]).all() and (curves["x2"] > curves["x3"]).all()


def test_permutation_importance_seed_groups_and_save(trained_time_independent, tmp_path):
    model, _, test = trained_time_independent
    fwd = captum_surv.from_pycox(model, times=np.linspace(0.8, 5.0, 4))
    kw = {"n_repeats": 2, "features": {"x1+x2": ["x1", "x2"], "x3": "x3"}}
    a = permutation_importance(fwd, test.frame, test.durations, test.events, seed=5, **kw)
    b = permutation_importance(fwd, test.frame, test.durations, test.events, seed=5, **kw)
    c = permutation_importance(fwd, test.frame, test.durations, test.events, seed=6, **kw)
    np.testing.assert_array_equal(a.permuted_curves, b.permuted_curves)
    assert not np.array_equal(a.permutations, c.permutations)
    assert a.feature_names == ["x1+x2", "x3"] and a.groups[0] == ["x1", "x2"]
    # the group is permuted jointly: one permutation for both columns
    x = torch.as_tensor(test.features)
    shuffled = x.clone()
    perm = a.permutations[0, 1]
    shuffled[:, :2] = x[perm][:, :2]
    st = Surv.from_arrays(test.events.astype(bool), test.durations.astype(np.float64))
    with torch.no_grad():
        direct = metrics.brier_score(st, st, fwd(shuffled).double().numpy(), a.times)[1]
    np.testing.assert_allclose(a.permuted_curves[0, 1], direct, atol=1e-12)
    frame = a.to_frame()
    assert len(frame) == 2 * 2 * (4 + 1) and frame["time"].isna().sum() == 4
    spread = a.spread()
    inc = a.permuted_curves - a.baseline_curve
    np.testing.assert_allclose(spread.to_numpy(), inc.std(axis=1, ddof=1).T)
    a.save(tmp_path / "imp.pt")
    loaded = PermutationImportance.load(tmp_path / "imp.pt")
    np.testing.assert_array_equal(loaded.permuted_curves, a.permuted_curves)
    assert loaded.ranking() == a.ranking()


def test_permutation_importance_errors(trained_time_independent):
    model, _, test = trained_time_independent
    fwd = captum_surv.from_pycox(model, times=np.linspace(0.8, 5.0, 4))
    x, d, e = test.features, test.durations, test.events
    with pytest.raises(ValueError, match="Unknown loss"):
        permutation_importance(fwd, x, d, e, "mse")
    with pytest.raises(ValueError, match="follow-up range"):
        permutation_importance(fwd, x, d, e, times=[100.0])
    with pytest.raises(ValueError, match="one entry per row"):
        permutation_importance(fwd, x, d[:-1], e)
    with pytest.raises(ValueError, match="Unknown feature"):
        permutation_importance(fwd, x, d, e, features=["age"], feature_names=["a", "b", "c"])


# ============================================================================ PDP / ICE / ALE
def test_pdp_and_ice_equal_averaged_forward():
    model, x = build("logistic_hazard")
    fwd = captum_surv.from_pycox(model, output="cumhazard")
    x = x[:30].double()
    grid = np.array([-1.0, 0.0, 0.5, 2.0])
    effect = partial_dependence(fwd, x, 2, grid=grid)
    for g, v in enumerate(grid):
        z = x.clone()
        z[:, 2] = v
        with torch.no_grad():
            out = fwd(z)
        np.testing.assert_allclose(effect.values[g], out.mean(0).numpy(), atol=1e-12)
        np.testing.assert_allclose(effect.ice[:, g], out.numpy(), atol=1e-12)
    # 2-D PDP at chosen times
    times = fwd.times[[1, 4]].numpy()
    pair = partial_dependence(fwd, x, (0, 3), grid=(grid[:2], grid[2:]), times=times)
    assert pair.values.shape == (2, 2, 2)
    z = x.clone()
    z[:, 0], z[:, 3] = grid[1], grid[3]
    with torch.no_grad():
        ref = fwd.with_times(times)(z).mean(0).numpy()
    np.testing.assert_allclose(pair.values[1, 1], ref, atol=1e-12)
    assert len(pair.to_frame()) == 8 and len(effect.to_frame(ice=True)) == 30 * 4 * fwd.n_times


def test_ale_closed_form_on_linear_log_risk_cox(linear_cox, tmp_path):
    model, x, _ = linear_cox
    fwd = captum_surv.from_pycox(model, output="log_risk", times=[1.0, 2.0])
    j = 0
    ale = accumulated_local_effects(fwd, x, j, n_bins=6)
    z = ale.grids[0]
    xj = x[:, j].numpy()
    # bins (z_{k-1}, z_k], the first one closed; counts and the centring by hand
    counts = np.array(
        [np.sum((xj > lo) & (xj <= hi)) for lo, hi in zip(z[:-1], z[1:], strict=True)]
    )
    counts[0] += np.sum(xj == z[0])
    np.testing.assert_array_equal(ale.counts, counts)
    mids = 0.5 * (z[:-1] + z[1:])
    centre = (counts * mids).sum() / counts.sum()
    expected = BETA[0, j].item() * (z - centre)
    np.testing.assert_allclose(ale.values[:, 0], expected, atol=1e-10)
    np.testing.assert_allclose(ale.values[:, 1], expected, atol=1e-10)
    # cumulative hazard: H0(t) * mean_bin(exp(x_-j b_-j)) * (exp(b z_k) - exp(b z_{k-1}))
    fwd_h = fwd.with_output("cumhazard")
    ale_h = accumulated_local_effects(fwd_h, x, j, n_bins=6)
    rest = np.exp(x.numpy() @ BETA[0].numpy() - xj * BETA[0, j].item())
    bins = np.clip(np.searchsorted(z, xj, side="left"), 1, len(z) - 1)
    b = BETA[0, j].item()
    local = np.array(
        [
            rest[bins == k].mean() * (np.exp(b * z[k]) - np.exp(b * z[k - 1]))
            for k in range(1, len(z))
        ]
    )
    acc = np.concatenate([[0.0], np.cumsum(local)])
    acc -= (counts * 0.5 * (acc[:-1] + acc[1:])).sum() / counts.sum()
    h0 = fwd_h(torch.zeros(1, 3, dtype=torch.float64))[0].numpy()
    np.testing.assert_allclose(ale_h.values, acc[:, None] * h0[None, :], rtol=1e-10)
    ale_h.save(tmp_path / "ale.pt")
    loaded = FeatureEffect.load(tmp_path / "ale.pt")
    np.testing.assert_array_equal(loaded.values, ale_h.values)
    assert loaded.kind == "ale" and loaded.features == ["x0"]


# ============================================================================ conditional
@pytest.mark.parametrize("kind", ["coxph", "coxtime", "logistic_hazard", "deephit"])
def test_conditional_survival_is_a_ratio_and_one_at_s(kind):
    model, x = build(kind)
    fwd = captum_surv.from_pycox(model, times=6)
    x = x[:5].double()
    s = float(fwd.times[2])
    cond = captum_surv.from_pycox(model, "conditional_survival", times=6, condition_time=s)
    assert cond.condition_time == s
    with torch.no_grad():
        survival, at_s = fwd(x), fwd.with_times([s])(x)
        expected = torch.where(fwd.times >= s, survival / at_s, torch.ones_like(survival))
        got = cond(x)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(got[:, 2], torch.ones(5, dtype=torch.float64), rtol=0, atol=1e-14)
    hazard = cond.with_output("conditional_cumhazard")
    assert hazard.condition_time == s
    torch.testing.assert_close(torch.exp(-hazard(x)), got, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["coxph", "logistic_hazard", "coxtime"])
def test_intgrad_of_conditional_cumhazard_is_linear(kind):
    model, x = build(kind)
    x = x[:4].double()
    fwd = captum_surv.from_pycox(model, "cumhazard", times=6)
    s = float(fwd.times[1])
    cond = fwd.with_output("conditional_cumhazard", condition_time=s)
    base = torch.zeros(1, x.shape[1], dtype=torch.float64)
    got = explain(cond, x, "intgrad", base, n_steps=16).attributions
    at_t = explain(fwd, x, "intgrad", base, n_steps=16).attributions
    at_s = explain(fwd.with_times([s]), x, "intgrad", base, n_steps=16).attributions
    expected = torch.where((fwd.times >= s)[None, :, None], at_t - at_s, torch.zeros_like(at_t))
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-8)


def test_conditional_output_errors():
    model, _ = build("coxph")
    with pytest.raises(ValueError, match="condition_time=s"):
        captum_surv.from_pycox(model, "conditional_survival")
    with pytest.raises(ValueError, match="not conditional"):
        captum_surv.from_pycox(model, "survival", condition_time=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        captum_surv.from_pycox(model, "conditional_survival", condition_time=-1.0)
    fwd = captum_surv.from_pycox(model, "conditional_survival", condition_time=0.5)
    assert fwd.with_output("survival").condition_time is None


# ============================================================================ figures
def test_figures_draw_the_results(trained_time_independent):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, _, test = trained_time_independent
    fwd = captum_surv.from_pycox(model, times=np.linspace(0.8, 5.0, 4))
    imp = permutation_importance(fwd, test.frame, test.durations, test.events, n_repeats=2)
    fig, axes = imp.plot()
    assert len(axes[0].lines) == 3 + 1 and len(axes[1].patches) == 3  # + the zero line
    # the bars are the integrated increases, in ranking order from the top
    widths = [p.get_width() for p in axes[1].patches][::-1]
    np.testing.assert_allclose(widths, imp.integrated()["importance"].to_numpy())
    x = test.frame.iloc[:20]
    pdp = partial_dependence(fwd, x, "x1", n_grid=5)
    fig, ax = pdp.plot(times=[1.0, 3.0])
    assert len(ax.lines) == 2 * 20 + 2  # ICE curves per time + the two PDPs
    np.testing.assert_allclose(ax.lines[20].get_ydata(), pdp.at_time(1.0))
    fig, ax = accumulated_local_effects(fwd, x, "x2", n_bins=4).plot()
    pd2 = partial_dependence(fwd, x, ("x1", "x2"), n_grid=3, times=[1.0, 2.0])
    fig, axes = pd2.plot()
    assert len(axes) == 2
    inter = explain(fwd, x.iloc[:3], "hessian")
    fig, ax = inter.plot_heatmap(time=2.0)
    fig, ax = inter.plot_pairs(top=2)
    assert [line.get_label() for line in ax.lines] == list(
        inter.pair_strength().mean().sort_values(ascending=False).index[:2]
    )
    plt.close("all")


# ------------------------------------------------------------------ review fixes
def _weibull64():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 2)).double()
    return captum_surv.from_module(net, "weibull", times=[0.5, 1.0, 2.0])


def _frame64(n=40, seed=2):
    import pandas as pd

    values = np.random.default_rng(seed).normal(size=(n, 3))  # not exact in float32
    return pd.DataFrame(values, columns=["a", "b", "c"]), values


def test_pdp_keeps_a_float64_frame_float64():
    fwd = _weibull64()
    frame, values = _frame64()
    pdp = partial_dependence(fwd, frame, "b", grid=[0.123456789], ice=False)
    edited = values.copy()
    edited[:, 1] = 0.123456789
    with torch.no_grad():
        expected = fwd(torch.as_tensor(edited)).numpy().mean(0)  # float64 average by hand
    np.testing.assert_allclose(pdp.values[0], expected, rtol=1e-14, atol=0)


def test_permutation_importance_frame_equals_array_exactly():
    fwd = _weibull64()
    frame, values = _frame64()
    rng = np.random.default_rng(0)
    durations, events = rng.uniform(0.2, 3.0, size=40), rng.uniform(size=40) < 0.7
    kwargs = dict(loss="brier", times=[0.5, 1.0, 2.0], n_repeats=2, seed=1)
    from_frame = permutation_importance(fwd, frame, durations, events, **kwargs)
    from_array = permutation_importance(fwd, values, durations, events, **kwargs)
    np.testing.assert_array_equal(from_frame.permuted_curves, from_array.permuted_curves)
    np.testing.assert_array_equal(from_frame.baseline_curve, from_array.baseline_curve)
    # integer tables: arrays are accepted like frames
    ints = permutation_importance(fwd, values.round().astype(np.int64), durations, events, **kwargs)
    assert ints.permuted_curves.shape == from_array.permuted_curves.shape


def test_permutation_importance_rejects_one_brier_time_and_repeated_features():
    fwd = _weibull64()
    _, values = _frame64()
    d, e = np.linspace(0.2, 3.0, 40), np.ones(40, dtype=bool)
    with pytest.raises(ValueError, match=r"needs at least two time points; got times=\[1\.0\]"):
        permutation_importance(fwd, values, d, e, "brier", times=[1.0])
    with pytest.raises(ValueError, match=r"lists the feature\(s\) \['x0'\] more than once"):
        permutation_importance(fwd, values, d, e, "brier", features=[0, 0])


def test_effects_evaluate_a_binary_feature_only_at_observed_values():
    fwd = _weibull64()
    x = np.random.default_rng(1).normal(size=(30, 3))
    x[:, 0] = np.arange(30) % 3 == 0  # binary, 1 in a third of the rows
    pdp = partial_dependence(fwd, x, 0, n_grid=20, ice=False)
    ale = accumulated_local_effects(fwd, x, 0, n_bins=10)
    np.testing.assert_array_equal(pdp.grids[0], [0.0, 1.0])
    np.testing.assert_array_equal(ale.grids[0], [0.0, 1.0])
