"""Regression tests for defects of the model adapters found off the happy path.

Each test failed before its fix. References come from pycox's own predictions, from
hand-written float64 torch computations, or from Captum run on an independent float64
re-implementation of the model, never from captum_surv itself.
"""

from __future__ import annotations

import copy
import functools
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torchtuples as tt
from captum.attr import (
    DeepLift,
    GuidedBackprop,
    IntegratedGradients,
    LayerConductance,
    LayerIntegratedGradients,
    Saliency,
)
from pycox import models as pm
from pycox.models.cox_time import MLPVanillaCoxTime
from torch import nn

import captum_surv
from captum_surv import baselines
from captum_surv.models.base import conditional_ratio

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- tiny models
@functools.cache
def _cox_relu():
    """A float32 CoxPH with a ReLU net (DeepLift and GuidedBackprop treat ReLU specially)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1, bias=False)
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    d = rng.exponential(size=60).astype(np.float32)
    e = (rng.uniform(size=60) < 0.7).astype(np.float32)
    model = pm.CoxPH(net)
    model.compute_baseline_hazards(x, (d, e))
    return model, x


class _CoxSurvival64(nn.Module):
    """Independent float64 CoxPH survival on given times, from pycox's baseline."""

    def __init__(self, model, times):
        super().__init__()
        self.net = copy.deepcopy(model.net).double().eval()
        cum = model.baseline_cumulative_hazards_
        idx = np.searchsorted(cum.index.to_numpy(dtype=np.float64), times, side="right") - 1
        base = np.where(idx >= 0, cum.to_numpy(dtype=np.float64)[np.maximum(idx, 0)], 0.0)
        self.register_buffer("base", torch.as_tensor(base))

    def forward(self, x):
        return torch.exp(-self.base * torch.exp(self.net(x)))


def _cox_pair():
    model, x = _cox_relu()
    fwd = captum_surv.from_pycox(model, times=5)
    ref = _CoxSurvival64(model, fwd.times.numpy())
    return fwd, ref, torch.tensor(x[:5])


# --------------------------------------------------------------------------- defect 1
@pytest.mark.parametrize("method", [DeepLift, GuidedBackprop])
def test_float64_inputs_fire_hooks_of_fwd_net(method):
    """Issue 9, defect 1: float64 inputs ran an unhooked float64 copy of fwd.net."""
    fwd, ref, x = _cox_pair()
    fwd(x.double())  # a prediction first, as users do
    for k in range(fwd.n_times):
        got = method(fwd).attribute(x.double(), target=k)
        want = method(ref).attribute(x.double(), target=k)
        assert got.dtype == torch.float64
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)
        low = method(fwd).attribute(x, target=k)  # float32: same numbers to float32 precision
        torch.testing.assert_close(low.double(), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", [LayerIntegratedGradients, LayerConductance])
def test_layer_methods_on_float64_inputs(method):
    """Layer methods hooked on fwd.net's layers failed ("did not obtain any outputs")."""
    fwd, ref, x = _cox_pair()
    got = method(fwd, fwd.net[2]).attribute(x.double(), target=3)
    want = method(ref, ref.net[2]).attribute(x.double(), target=3)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)


def test_float64_after_hooked_call_is_plain_gradient():
    """A float64 copy built while DeepLift's hooks were registered kept them for later."""
    fwd, ref, x = _cox_pair()
    DeepLift(fwd).attribute(x.double(), target=2)  # first float64 call, inside DeepLift
    got = Saliency(fwd).attribute(x.double(), target=2, abs=False)
    x64 = x.double().requires_grad_()
    (want,) = torch.autograd.grad(ref(x64)[:, 2].sum(), x64)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-9)


def test_float64_forward_uses_current_parameters():
    """Converted parameters are refreshed when fwd.net's parameters change in place."""
    fwd, ref, x = _cox_pair()
    fwd(x.double())
    with torch.no_grad():
        fwd.net[0].bias.add_(0.5)
        ref.net[0].bias.add_(0.5)
    torch.testing.assert_close(fwd(x.double()), ref(x.double()), rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- defect 2
R_RISKS, N_CUTS = 2, 5


class _DeepHitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, R_RISKS * N_CUTS)

    def forward(self, x):
        return self.lin(x).view(x.shape[0], R_RISKS, N_CUTS)


@functools.cache
def _deephit():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    idx = rng.integers(0, N_CUTS, 40).astype("int64")
    ev = rng.integers(0, R_RISKS + 1, 40).astype("int64")
    model = pm.DeepHit(_DeepHitNet(), tt.optim.Adam(0.01), duration_index=np.linspace(0, 4, N_CUTS))
    model.fit(x, (idx, ev), epochs=1, verbose=False)
    return model, x


def _deephit_with_survival(target):
    """A copy of the DeepHit model whose last-cut survival is about ``target`` at x ~ 0."""
    base, x = _deephit()
    model = copy.copy(base)
    model.net = copy.deepcopy(base.net)
    with torch.no_grad():
        model.net.lin.weight.mul_(0.1)
        model.net.lin.bias.fill_(math.log((1 / target - 1) / (R_RISKS * N_CUTS)))
    return model, torch.tensor(x[:4])


def _deephit_cumhazard64(model, x):
    """-log(1 - sum of CIFs) at the last cut, by hand in float64 (pycox's formula)."""
    net = copy.deepcopy(model.net).double()
    phi = net(x).reshape(x.shape[0], -1)
    pmf = torch.softmax(torch.cat([phi, phi.new_zeros(x.shape[0], 1)], 1), 1)[:, :-1]
    return -torch.log(1 - pmf.sum(1))


@pytest.mark.parametrize("target", [2e-6, 1e-8, 1e-10])
def test_deephit_small_survival_in_float32(target):
    """Issue 9, defect 2: 1 - sum(CIF) cancelled digits (gradient 167% off at S = 1e-8)."""
    model, x = _deephit_with_survival(target)
    fwd = captum_surv.from_pycox(model, output="cumhazard")
    x32 = x.clone().requires_grad_()
    h32 = fwd(x32)[:, -1]
    (g32,) = torch.autograd.grad(h32.sum(), x32)
    x64 = x.double().requires_grad_()
    h64 = _deephit_cumhazard64(model, x64)
    (g64,) = torch.autograd.grad(h64.sum(), x64)
    assert math.isclose(math.exp(-h64[0].item()), target, rel_tol=0.2)
    torch.testing.assert_close(h32.double(), h64.detach(), rtol=1e-5, atol=0)
    torch.testing.assert_close(g32.double(), g64, rtol=1e-3, atol=1e-6 * g64.abs().max().item())


def test_deephit_all_cause_survival_matches_pycox_in_float64():
    base, x = _deephit()
    model = copy.copy(base)
    model.net = copy.deepcopy(base.net).double()
    x64 = torch.tensor(x[:6], dtype=torch.float64)
    expected = np.asarray(model.predict_surv(x64, numpy=True)).T  # pycox: [cuts, batch]
    got = captum_surv.from_pycox(model)(x64).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    cif = np.asarray(model.predict_cif(x64, numpy=True))  # [risks, cuts, batch]
    got_cif = captum_surv.from_pycox(model, output="cif", event=1)(x64).detach().numpy()
    np.testing.assert_allclose(got_cif, cif[1].T, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- defect 3
@functools.cache
def _coxtime_validation_baseline():
    torch.manual_seed(0)
    rng = np.random.default_rng(1)

    def simulate(n):
        x = rng.normal(size=(n, 3)).astype(np.float32)
        d = rng.exponential(2.0, size=n) * np.exp(-0.5 * x[:, 0]) + 0.01
        e = (rng.uniform(size=n) < 0.8).astype(np.float32)
        return x, d, e

    x, d, e = simulate(60)
    xv, dv, ev = simulate(40)
    order = np.argsort(dv)
    xv, dv, ev = xv[order], dv[order], ev[order]
    labtrans = pm.CoxTime.label_transform()
    y = labtrans.fit_transform(d, e)
    net = MLPVanillaCoxTime(3, [8], batch_norm=False, dropout=0.0)
    model = pm.CoxTime(net, tt.optim.Adam(0.01), labtrans=labtrans)
    model.fit(x, y, epochs=2, verbose=False)
    model.compute_baseline_hazards(xv, labtrans.transform(dv, ev))  # validation data
    return model, labtrans, xv, dv, ev


def test_coxtime_baseline_on_validation_data_at_event_times():
    """Issue 9, defect 3: event times not in the label transform's map landed after the
    true time, so times=event_times gave survival before the jump."""
    model, labtrans, xv, dv, ev = _coxtime_validation_baseline()
    event_times = np.unique(dv[ev == 1])
    fwd = captum_surv.from_pycox(model, times=event_times)
    x = xv[:5]
    got = fwd(torch.tensor(x)).detach().numpy()
    surv = model.predict_surv_df(x)  # rows: the baseline's scaled durations
    scaled_index = np.asarray(model.baseline_hazards_.index, dtype=np.float64)
    scaled_events = np.asarray(labtrans.transform(event_times, np.zeros(len(event_times)))[0])
    rows = np.searchsorted(scaled_index, scaled_events.astype(np.float64))
    np.testing.assert_allclose(got, surv.to_numpy()[rows].T, rtol=0, atol=1e-6)
    assert [fwd.time_index(t) for t in event_times] == list(range(len(event_times)))
    native = captum_surv.from_pycox(model)
    assert native.time_index(event_times).tolist() == list(range(len(event_times)))
    np.testing.assert_allclose(native(torch.tensor(x)).detach().numpy(), got, rtol=0, atol=0)


# --------------------------------------------------------------------------- defect 6
def _logistic_hazard(n_out, cuts, fit=True, cls=pm.LogisticHazard, **kw):
    torch.manual_seed(0)
    net = tt.practical.MLPVanilla(3, [4], n_out)
    model = cls(net, tt.optim.Adam(0.01), duration_index=cuts, **kw)
    if fit:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(20, 3)).astype(np.float32)
        idx = rng.integers(0, n_out, 20).astype("int64")
        if cls is pm.PCHazard:
            y = (idx, rng.uniform(size=20).astype(np.float32), np.ones(20, np.float32))
        else:
            y = (idx, np.ones(20, np.float32))
        model.fit(x, y, epochs=1, verbose=False)
    return model


def test_duration_index_inconsistent_with_network_width_is_rejected():
    """Issue 9, defect 6: misaligned cuts were accepted and interpolated silently."""
    model = _logistic_hazard(6, np.linspace(0, 5, 8))
    with pytest.raises(ValueError, match=r"returns 6 output columns.*asks for 8"):
        captum_surv.from_pycox(model)
    unfitted = _logistic_hazard(6, np.linspace(0, 5, 8), fit=False)  # shapes unknown
    fwd = captum_surv.from_pycox(unfitted)
    with pytest.raises(ValueError, match=r"returns 6 output columns.*asks for 8"):
        fwd(torch.zeros(2, 3))
    pch = _logistic_hazard(6, np.linspace(0, 5, 7), cls=pm.PCHazard)  # 6 intervals
    assert captum_surv.from_pycox(pch)(torch.zeros(2, 3)).shape == (2, 7)
    pch.duration_index = np.linspace(0, 5, 6)
    with pytest.raises(ValueError, match=r"returns 6 output columns.*asks for 5 \(6 cuts"):
        captum_surv.from_pycox(pch)


def test_deephit_duration_index_inconsistent_with_network_is_rejected():
    base, _ = _deephit()
    model = copy.copy(base)
    model.duration_index = np.linspace(0, 4, N_CUTS + 2)
    with pytest.raises(ValueError, match=rf"shape \(2, 2, {N_CUTS}\).*{N_CUTS + 2} cuts"):
        captum_surv.from_pycox(model)


# --------------------------------------------------------------------------- defect 7
def test_integer_scalars_are_counts_and_floats_are_times():
    """Issue 9, defect 7: np.int64(3) was a count but np.array(3), torch.tensor(3) times."""
    model, _ = _cox_relu()
    native = captum_surv.from_pycox(model).times.numpy()
    expected = native[np.round(np.linspace(0, len(native) - 1, 3)).astype(int)]
    for times in (3, np.int64(3), np.int32(3), np.array(3), torch.tensor(3)):
        got = captum_surv.from_pycox(model, times=times).times.numpy()
        np.testing.assert_array_equal(got, expected, err_msg=repr(times))
    for times in (3.0, np.float64(3.0), np.array(3.0), torch.tensor(3.0), [3], np.array([3])):
        got = captum_surv.from_pycox(model, times=times, clamp=True).times.numpy()
        assert got.tolist() == [min(3.0, native[-1])], repr(times)


@pytest.mark.parametrize(
    "times", [True, np.bool_(False), np.array(True), torch.tensor(True), [True, False], "3"]
)
def test_boolean_or_text_times_are_rejected(times):
    model, _ = _cox_relu()
    with pytest.raises(TypeError, match=r"times.*(boolean|string|numbers)"):
        captum_surv.from_pycox(model, times=times)


def test_clamped_duplicate_times_are_announced():
    model, _ = _cox_relu()
    last = float(model.baseline_hazards_.index.max())  # last defined time (censored)
    with pytest.warns(UserWarning, match=r"3 duplicate times"):
        fwd = captum_surv.from_pycox(model, times=[last, last + 1, last + 2], clamp=True)
    assert fwd.times.tolist() == [last] * 3


# --------------------------------------------------------------------------- defect 8
def _frame():
    model, x = _cox_relu()
    frame = pd.DataFrame(x[:6].astype(np.float64), columns=["age", "bmi", "sbp", "hr"])
    return captum_surv.from_pycox(model, times=4), frame


def test_dataframes_are_accepted_everywhere_and_keep_float64():
    """Issue 9, defect 8: fwd(df), baselines.sample(df), feature_mean(df) and
    explain(..., baselines=df) failed; explain(df) cast float64 to float32."""
    fwd, frame = _frame()
    x64 = torch.tensor(frame.to_numpy())
    out = fwd(frame)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, fwd(x64))
    mean = baselines.feature_mean(frame)
    np.testing.assert_allclose(mean.numpy()[0], frame.mean().to_numpy(), rtol=1e-12)
    drawn = baselines.sample(frame, 3, seed=1)
    assert drawn.dtype == torch.float64
    torch.testing.assert_close(drawn, baselines.sample(x64, 3, seed=1))
    expl = captum_surv.explain(fwd, frame.iloc[:2], "intgrad", baselines=frame.iloc[2:3])
    assert expl.feature_names == ["age", "bmi", "sbp", "hr"]
    assert expl.attributions.dtype == torch.float64
    want = captum_surv.explain(fwd, x64[:2], "intgrad", baselines=x64[2:3])
    torch.testing.assert_close(expl.attributions, want.attributions)
    # reference: Captum's IntegratedGradients per time point, float64
    for k in range(fwd.n_times):
        ig = IntegratedGradients(fwd).attribute(
            x64[:2], baselines=x64[2:3], target=k, n_steps=50, method="gausslegendre"
        )
        torch.testing.assert_close(expl.attributions[:, k], ig, rtol=1e-6, atol=1e-9)


def test_dataframe_with_text_columns_is_rejected_clearly():
    fwd, frame = _frame()
    frame = frame.assign(sex=["f", "m"] * 3)
    for call in (lambda: fwd(frame), lambda: baselines.feature_mean(frame)):
        with pytest.raises(TypeError, match=r"non-numeric columns \['sex'\]"):
            call()
    with pytest.raises(TypeError, match=r"Input 0 is a pandas Series.*to_frame\(\)\.T"):
        fwd(frame["age"])
    with pytest.raises(ValueError, match=r"reference contains NaN or inf"):
        baselines.feature_mean(frame[["age"]].astype("Float64").where(frame.age > 0, pd.NA))


# --------------------------------------------------------------------------- defect 11
def test_plot_is_reachable_after_import_and_no_private_design_notes():
    """Issue 9, defect 11: captum_surv.plot needed an explicit import; docs cited a file
    outside the repository."""
    saved_module = sys.modules.pop("captum_surv.plot", None)
    saved_attribute = captum_surv.__dict__.pop("plot", None)
    try:  # as after a fresh `import captum_surv`: the submodule not imported yet
        assert callable(captum_surv.plot.importance_heatmap)
    finally:
        if saved_module is not None:
            sys.modules["captum_surv.plot"] = saved_module
            captum_surv.plot = saved_attribute or saved_module
    name = "DESIGN" + ".md"
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
    for folder in ("captum_surv", "benchmarks", "docs", "notebooks", "tests", "scripts"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".ipynb")]
    cited = [str(p.relative_to(ROOT)) for p in files if p.is_file() and name in p.read_text()]
    assert cited == []


# --------------------------------------------------------------------------- defect 14
def test_conditional_ratio_is_one_where_nobody_is_at_risk():
    """Issue 9, defect 14: returning 0 instead of 1 here passed the finiteness test."""
    mass = torch.tensor([0.0, 0.2, 0.0])
    at_risk = torch.tensor([0.0, 0.4, 0.5])
    torch.testing.assert_close(conditional_ratio(mass, at_risk), torch.tensor([1.0, 0.5, 0.0]))
    net = tt.practical.MLPVanilla(3, [4], 6)
    model = pm.PMF(net, duration_index=np.linspace(0, 5, 6))
    fwd = captum_surv.from_pycox(model, output="hazard").with_times(
        [0.5, 1.5, 2.5, 3.5], interpolation="step"
    )
    phi = torch.tensor([[200.0, -200.0, -200.0, -200.0, -200.0, -200.0]])
    # the event happens in the first interval: hazard 1 there, and 1 where S(t_{k-1}) = 0
    torch.testing.assert_close(fwd.output_from_raw(phi), torch.ones(1, 4))


# --------------------------------------------------------------------------- defect 15
@pytest.mark.parametrize("max_duration", [None, 0.3])
def test_coxtime_baseline_hazards_match_pycox_in_blocks(max_duration):
    """Issue 9, defect 15: the multi-block and max_duration paths were never compared."""
    model, labtrans, xv, dv, ev = _coxtime_validation_baseline()
    target = labtrans.transform(dv, ev)
    expected = model.compute_baseline_hazards(
        xv, target, max_duration=max_duration, set_hazards=False
    )
    for batch_size in (7, 100, 262_144):  # 1 row per block ... everything in one block
        got = captum_surv.compute_coxtime_baseline_hazards(
            model, xv, target, max_duration=max_duration, batch_size=batch_size
        )
        np.testing.assert_array_equal(got.index.to_numpy(), expected.index.to_numpy())
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-5, atol=0)
    if max_duration is not None:
        assert expected.index.max() <= max_duration < labtrans.transform(dv, ev)[0].max()
    frame = pd.DataFrame(xv.astype(np.float64), columns=["a", "b", "c"])  # defect 8
    got = captum_surv.compute_coxtime_baseline_hazards(
        model, frame, target, max_duration=max_duration
    )
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-5, atol=0)
