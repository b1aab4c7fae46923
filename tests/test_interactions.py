"""Hessian(t) and IntHess(t): parity with torch.autograd.functional.hessian per time point,
completeness against IntGrad(t), and the known x1*x2 interaction of a simulation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from pycox import models as pm
from torch import nn

import captum_surv
from captum_surv import SurvInteractions, datasets, explain
from captum_surv.attr.interactions import _is_low_rank
from tests import zoo
from tests.zoo import build

warnings.filterwarnings("ignore", category=UserWarning)


@pytest.mark.parametrize("kind", ["coxph", "logistic_hazard", "coxtime", "deephit"])
def test_hessian_equals_autograd_hessian_per_time_point(kind):
    model, x = build(kind)
    fwd = captum_surv.from_pycox(model, times=5)
    x = x[:3].double()
    inter = explain(fwd, x, "hessian")
    assert inter.interactions.shape == (3, fwd.n_times, 5, 5)
    for k in range(fwd.n_times):
        for n in range(3):
            ref = torch.autograd.functional.hessian(lambda z, k=k: fwd(z[None])[0, k], x[n])
            torch.testing.assert_close(inter.interactions[n, k], ref, rtol=0, atol=1e-8)


@pytest.mark.parametrize("output", ["survival", "cumhazard", "conditional_survival"])
def test_hessian_of_proportional_hazards_outputs(output):
    model, x = build("coxph")
    fwd = captum_surv.from_pycox(model, "survival", times=5)
    if output != "survival":
        fwd = fwd.with_output(output, condition_time=float(fwd.times[1]))
    x = x[:2].double()
    inter = explain(fwd, x, "hessian")
    for k in range(fwd.n_times):
        for n in range(2):
            ref = torch.autograd.functional.hessian(lambda z, k=k: fwd(z[None])[0, k], x[n])
            torch.testing.assert_close(inter.interactions[n, k], ref, rtol=0, atol=1e-8)


@pytest.mark.parametrize("kind", ["coxph", "logistic_hazard"])
def test_inthess_rows_sum_to_intgrad(kind):
    model, x = build(kind)
    fwd = captum_surv.from_pycox(model, times=6)
    x = x[:4].double()
    base = x.mean(0, keepdim=True) * 0.5
    inter = explain(fwd, x, "inthess", base)
    ig = explain(fwd, x, "intgrad", base, n_steps=64)
    torch.testing.assert_close(inter.row_sums(), ig.attributions, rtol=0, atol=1e-6)
    assert inter.completeness_residual().abs().max() < 1e-6
    torch.testing.assert_close(
        inter.interactions, inter.interactions.transpose(-1, -2), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("kind", ["coxph", "logistic_hazard"])
def test_exphess_rows_sum_to_deterministic_gradshap(kind):
    model, data = build(kind)
    fwd = captum_surv.from_pycox(model, times=4)
    x, refs = data[:3].double(), data[10:13].double()
    inter = explain(fwd, x, "exphess", refs, n_steps=24)
    shap = explain(fwd, x, "gradshap", refs, sampling="gausslegendre", n_steps=48)
    torch.testing.assert_close(inter.row_sums(), shap.attributions, rtol=0, atol=1e-6)
    assert inter.completeness_residual().abs().max() < 1e-6
    # with one reference row ExpHess(t) is IntHess(t) from that row
    one = explain(fwd, x, "exphess", refs[:1], n_steps=6).interactions
    torch.testing.assert_close(
        one, explain(fwd, x, "inthess", refs[:1], n_steps=6).interactions, rtol=0, atol=1e-12
    )
    with pytest.raises(ValueError, match="reference rows"):
        explain(fwd, x, "exphess")


class _TrueLogRisk(nn.Module):
    """The simulation's true log-risk 0.5 x1 - 0.5 x2 + 0.5 x3 + 2 x1 x2."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))  # pycox needs a parameter to build

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        eta = 0.5 * z[:, 0] - 0.5 * z[:, 1] + 0.5 * z[:, 2] + 2.0 * z[:, 0] * z[:, 1]
        return (self.scale * eta).unsqueeze(1)


@pytest.fixture(scope="module")
def interaction_models():
    data = datasets.simulate_interaction(n=2000, seed=0)
    x = torch.as_tensor(data.features)
    true = pm.CoxPH(_TrueLogRisk())
    true.compute_baseline_hazards(input=x, target=data.target())
    torch.manual_seed(0)
    options = {"hidden": (32, 32), "batch_norm": False, "dropout": 0.0, "activation": nn.Tanh}
    deepsurv, _ = zoo.train(
        "CoxPH", x.numpy(), *data.target(), batch_size=256, epochs=30, **options
    )
    return data, {"true": true, "deepsurv": deepsurv}


@pytest.mark.parametrize("which", ["true", "deepsurv"])
def test_x1_x2_is_the_strongest_interaction_at_every_time(interaction_models, which):
    data, models = interaction_models
    assert data.ground_truth.interactions == {("x1", "x2"): 2.0}
    fwd = captum_surv.from_pycox(models[which], times=np.linspace(0.5, 4.0, 8))
    x = data.frame.iloc[:40]
    for method in ("hessian", "inthess"):
        base = None if method == "hessian" else torch.zeros(1, 4)
        steps = {} if method == "hessian" else {"n_steps": 12}
        inter = explain(fwd, x, method, base, **steps)
        strongest = inter.strongest_pairs(top=1)
        assert len(strongest) == fwd.n_times
        assert (strongest["pair"] == "x1:x2").all(), (which, method, strongest)


def test_interactions_frame_save_and_errors(tmp_path):
    model, x = build("coxph")
    fwd = captum_surv.from_pycox(model, times=3)
    inter = explain(fwd, x[:2], "inthess", n_steps=4, feature_names=list("abcde"))
    frame = inter.to_frame()
    assert len(frame) == 2 * 3 * 5 * 5
    row = frame[(frame.instance == 1) & (frame.feature_i == "b") & (frame.feature_j == "d")]
    assert row["value"].iloc[2] == pytest.approx(inter.interactions[1, 2, 1, 3].item())
    assert list(inter.pair_strength().columns)[:2] == ["a:b", "a:c"]
    inter.save(tmp_path / "inter.pt")
    loaded = SurvInteractions.load(tmp_path / "inter.pt")
    torch.testing.assert_close(loaded.interactions, inter.interactions)
    assert loaded.feature_names == list("abcde") and loaded.method == "inthess"
    with pytest.raises(ValueError, match="no baselines"):
        explain(fwd, x[:2], "hessian", torch.zeros(1, 5))
    with pytest.raises(ValueError, match=r"got unknown option\(s\) \['n_sample'\]"):
        explain(fwd, x[:2], "inthess", n_sample=3)
    with pytest.raises(ValueError, match="Only IntHess"):
        explain(fwd, x[:2], "hessian").completeness_residual()


def test_simulate_interaction_ground_truth():
    data = datasets.simulate_interaction(n=4000, seed=1)
    gt = data.ground_truth
    assert data.feature_names == ["x1", "x2", "x3", "x4"]
    assert gt.interactions == {("x1", "x2"): 2.0} and gt.coefficients["x4"] == 0.0
    # the log-hazard's mixed second differences: 2 for (x1, x2), 0 for every other pair
    x0, h = np.array([[0.1, -0.3, 0.2, 0.4]]), 0.1
    for i in range(4):
        for j in range(i + 1, 4):
            e_i, e_j = np.eye(4)[i] * h, np.eye(4)[j] * h
            mixed = (
                gt.log_hazard(x0 + e_i + e_j, [1.0])
                - gt.log_hazard(x0 + e_i - e_j, [1.0])
                - gt.log_hazard(x0 - e_i + e_j, [1.0])
                + gt.log_hazard(x0 - e_i - e_j, [1.0])
            ) / (4 * h * h)
            assert mixed[0, 0] == pytest.approx(2.0 if (i, j) == (0, 1) else 0.0, abs=1e-9)
    # the draws follow the stated hazard: E[H(min(T, C) | x)] = P(event) (martingale)
    cumhazard = np.array(
        [
            gt.cumulative_hazard(data.features[k : k + 1], [d])[0, 0]
            for k, d in enumerate(data.durations)
        ]
    )
    assert cumhazard.mean() == pytest.approx(data.events.mean(), abs=0.03)


@pytest.mark.parametrize("kind", ["weibull", "lognormal"])
def test_low_rank_route_for_parametric_families(kind):
    """A parametric network's k outputs: k Hessians per point serve every time point."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    with torch.no_grad():
        net[2].weight.mul_(0.3)
    fwd = captum_surv.from_module(net, kind, times=[0.5, 1.0, 2.0])
    assert fwd.structure == "head" and fwd.network_rank == 2
    assert _is_low_rank(fwd, 4)  # the route under test
    x = torch.randn(3, 4, dtype=torch.float64) * 0.5
    inter = explain(fwd, x, "hessian")
    for k in range(fwd.n_times):
        for n in range(3):
            ref = torch.autograd.functional.hessian(lambda z, k=k: fwd(z[None])[0, k], x[n])
            torch.testing.assert_close(inter.interactions[n, k], ref, rtol=0, atol=1e-8)
    ih = explain(fwd, x, "inthess", n_steps=24)
    ig = explain(fwd, x, "intgrad", n_steps=64)
    torch.testing.assert_close(ih.row_sums(), ig.attributions, rtol=0, atol=1e-6)


def test_interaction_methods_reject_options_they_would_ignore():
    """hessian uses no path (n_steps); no interaction method draws at random (seed)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    fwd = captum_surv.from_module(net.double(), "weibull", times=[1.0, 2.0])
    x = torch.randn(2, 3, dtype=torch.float64)
    refs = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"'hessian' is deterministic and accepts batch_size"):
        explain(fwd, x, "hessian", n_steps=5)
    for method, base in [("hessian", None), ("inthess", None), ("exphess", refs)]:
        with pytest.raises(ValueError, match=r"got unknown option\(s\) \['seed'\]"):
            explain(fwd, x, method, base, seed=3)
