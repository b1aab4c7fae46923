"""SurvLIME (``explain(..., "survlime")``) against its objective and against SurvLIMEpy.

Independent references: scipy's general-purpose minimiser on SurvLIME's objective written out
term by term, scikit-survival's Nelson-Aalen estimator, and SurvLIMEpy itself (its neighbour
generator, kernel weights and convex solve, run with a tight solver tolerance) when installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from sksurv.nonparametric import nelson_aalen_estimator

import captum_surv
from captum_surv import explain
from captum_surv.attr.survlime import default_kernel_width, nelson_aalen
from tests.zoo import build, smooth_data

matplotlib.use("Agg")

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
if str(_BENCH) not in sys.path:
    sys.path.insert(0, str(_BENCH))

import peers  # noqa: E402

N_TRAIN = 120


@pytest.fixture(scope="module")
def setting():
    model, x = build("coxph")
    _, d, e = smooth_data()
    fwd = captum_surv.from_pycox(model, times=12)
    fwd.model = model  # for another output of the same model below
    return fwd, x.numpy(), d, e


def _lime(setting, inputs, **options):
    """SurvLIME of ``inputs`` with the first N_TRAIN rows (and their outcomes) as training data."""
    fwd, x, d, e = setting
    train = x[:N_TRAIN]
    return explain(
        fwd, inputs, "survlime", train, durations=d[:N_TRAIN], events=e[:N_TRAIN], **options
    )


def _objective_reference(fwd, x, z, w, times, h0, eps=1e-6):
    """SurvLIME's objective for one instance as a function of b (numpy, term by term)."""
    with torch.no_grad():
        s = fwd(torch.as_tensor(z, dtype=torch.float32)).double().numpy()
    grid = fwd.times.numpy()
    s = np.stack([np.interp(times, grid, row) for row in s])
    h = -np.log(s + eps)
    log_h = np.log(h + eps)
    v = h / log_h
    dt = np.diff(np.append(times, times[-1] + eps))
    c = log_h - np.log(h0 + eps)

    def objective(b):
        e = (c - (z @ b)[:, None]) * v
        return float(w @ ((e**2) @ dt))

    def gradient(b):
        e = (c - (z @ b)[:, None]) * v**2  # d/db of sum w dt v^2 (c - z b)^2
        return -2.0 * z.T @ (w * (e @ dt))

    return objective, gradient


def test_nelson_aalen_matches_scikit_survival(setting):
    _, _, d, e = setting
    times, h0 = nelson_aalen(d, e)
    ref_times, ref_h0 = nelson_aalen_estimator(e > 0, d.astype(np.float64))
    np.testing.assert_allclose(times, ref_times)
    np.testing.assert_allclose(h0, ref_h0, rtol=1e-12)


def test_coefficients_minimise_the_objective(setting):
    fwd, x, d, e = setting
    lime = _lime(setting, x[200:202], n_neighbours=80, seed=4)
    assert lime.coefficients.shape == (2, 5)
    times, h0 = nelson_aalen(d[:N_TRAIN], e[:N_TRAIN])
    for i in range(2):
        z, w = lime.neighbours[i].numpy(), lime.weights[i].numpy()
        f, grad_f = _objective_reference(fwd, x[200 + i], z, w, times, h0)
        best = minimize(f, np.zeros(5), jac=grad_f, method="BFGS", options={"gtol": 1e-12})
        ours = lime.coefficients[i].numpy()
        np.testing.assert_allclose(ours, best.x, atol=1e-6)
        assert f(ours) <= best.fun * (1 + 1e-9)  # at least as good as the generic minimiser
        assert lime.objective[i].item() == pytest.approx(f(ours), rel=1e-9)
        # a minimum: the objective's central differences vanish
        step = 1e-5
        grad = [(f(ours + step * u) - f(ours - step * u)) / (2 * step) for u in np.eye(5)]
        assert np.abs(grad).max() <= 1e-6 * max(1.0, f(ours)), grad
    # the surrogate's curve is H0(t) exp(b . x)
    expected = (
        h0 * np.exp(x[200:202].astype(np.float64) @ lime.coefficients.numpy().T).diagonal()[:, None]
    )
    np.testing.assert_allclose(lime.surrogate_cumhazard.numpy(), expected, rtol=1e-10)
    assert (lime.fit_error > 0).all()


def test_neighbours_and_weights_follow_survlimepy_defaults(setting):
    fwd, x, d, e = setting
    train = x[:N_TRAIN]
    lime = _lime(setting, x[200:202], n_neighbours=50, seed=11)
    sigma = default_kernel_width(N_TRAIN, 5)
    assert lime.kernel_width == pytest.approx((4 / (N_TRAIN * 7)) ** (1 / 9))
    rng = np.random.RandomState(11)  # instance after instance from one stream
    sd = train.astype(np.float64).std(axis=0)
    for i in range(2):
        z = rng.normal(0, 1, size=(50, 5)) * sigma * sd + x[200 + i]
        np.testing.assert_allclose(lime.neighbours[i].numpy(), z, rtol=1e-12)
        dist = np.sqrt((((z - x[200 + i]) / sd) ** 2).sum(axis=1))
        np.testing.assert_allclose(lime.weights[i].numpy(), np.exp(-(dist**2) / (2 * sigma**2)))


@pytest.mark.skipif(not peers.available("survlimepy"), reason=peers.missing_reason("survlimepy"))
def test_equals_survlimepy(setting, monkeypatch):
    import cvxpy as cp

    fwd, x, d, e = setting
    solve = cp.Problem.solve

    def tight(self, *args, **kwargs):  # SurvLIMEpy's own problem, solved to 1e-9
        return solve(self, solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)

    monkeypatch.setattr(cp.Problem, "solve", tight)
    peer = peers.SurvLIME(fwd, x[:N_TRAIN], d[:N_TRAIN], e[:N_TRAIN], n_neighbours=60, seed=5)
    theirs = np.stack([peer.explain_one(x[200 + i]) for i in range(2)])
    ours = _lime(setting, x[200:202], n_neighbours=60, seed=5)
    np.testing.assert_allclose(ours.coefficients.numpy(), theirs, atol=1e-4)


def test_result_object_and_errors(setting):
    fwd, x, d, e = setting
    lime = _lime(setting, x[200:203], n_neighbours=30, seed=0, feature_names=list("abcde"))
    frame = lime.to_frame()
    assert list(frame.columns) == ["instance", "feature", "coefficient", "value", "importance"]
    assert len(frame) == 15 and list(frame.feature[:5]) == list("abcde")
    ax = lime.plot_coefficients(1)
    widths = sorted(abs(bar.get_width()) for bar in ax.patches)
    np.testing.assert_allclose(widths, np.sort(np.abs(lime.coefficients[1].numpy())), rtol=1e-6)
    ax = lime.plot_curves(2, kind="survival")
    model_line, surrogate_line = ax.get_lines()[:2]
    np.testing.assert_allclose(
        surrogate_line.get_ydata(), np.exp(-lime.surrogate_cumhazard[2].numpy()), rtol=1e-6
    )
    np.testing.assert_allclose(
        model_line.get_ydata(), np.exp(-lime.model_cumhazard[2].numpy()), rtol=1e-6
    )
    assert ax.get_xlabel() == "time"
    assert lime.plot_curves(2, kind="cumhazard") is not None
    with pytest.raises(ValueError, match="kind must be 'survival' or 'cumhazard'"):
        lime.plot_curves(0, kind="hazard")
    with pytest.raises(ValueError, match="instance must be an int"):
        lime.plot_curves(3)
    with pytest.raises(ValueError, match="needs the training data"):
        explain(fwd, x[:2], "survlime", x[:N_TRAIN])
    hazard = captum_surv.from_pycox(fwd.model, output="hazard", times=5)
    with pytest.raises(ValueError, match="output='survival' or output='cumhazard'"):
        explain(hazard, x[:2], "survlime", x[:N_TRAIN], durations=d[:N_TRAIN], events=e[:N_TRAIN])
    constant = x[:N_TRAIN].copy()
    constant[:, 2] = 1.0
    with pytest.raises(ValueError, match="constant"):
        explain(fwd, x[:2], "survlime", constant, durations=d[:N_TRAIN], events=e[:N_TRAIN])
