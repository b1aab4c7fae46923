"""Autograd through the forwards agrees with finite differences (float64), and
Captum algorithms work on them as drop-ins."""

from __future__ import annotations

import _reference as R
import numpy as np
import pytest
import torch
from _helpers import make, output_params
from captum.attr import IntegratedGradients

import captum_surv
from tests.zoo import CASE_NAMES, get_case

ROWS = [1, 2, 3]


def grid_variants(case):
    """A few time points: on the native grid, and arbitrary times inside it."""
    native = R.native_times(case)
    on_grid = native[[0, 2, len(native) // 2, len(native) - 1]]
    inner = np.array(
        [
            (native[0] + native[1]) / 2,
            native[len(native) // 3],
            0.3 * native[-3] + 0.7 * native[-2],
        ]
    )
    return {"grid": on_grid, "between": inner}


@pytest.mark.parametrize("grid", ["grid", "between"])
@pytest.mark.parametrize("name,output,event", output_params())
def test_gradcheck(name, output, event, grid):
    case = get_case(name)
    times = grid_variants(case)[grid]
    fwd = make(case, output, event, times=times)
    inputs = tuple(t.requires_grad_(True) for t in case.inputs(torch.float64, rows=ROWS))
    out = fwd(*inputs)
    assert out.dtype == torch.float64
    assert out.shape == (len(ROWS), len(times))
    assert torch.autograd.gradcheck(fwd, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)
    # the gradient actually reaches the input (for log_risk of Cox models too)
    grads = torch.autograd.grad(fwd(*inputs).sum(), inputs)
    assert sum(float(g.abs().sum()) for g in grads) > 0


@pytest.mark.parametrize("name", ["LogisticHazard", "PMF", "PCHazard"])
def test_gradcheck_const_hazard_and_step(name):
    case = get_case(name)
    native = R.native_times(case)
    times = np.array([native[1] * 0.4, (native[3] + native[4]) / 2, native[-1]])
    schemes = ["step"] + (["const_hazard"] if name != "PMF" else [])
    inputs = tuple(t.requires_grad_(True) for t in case.inputs(torch.float64, rows=ROWS))
    for scheme in schemes:
        for output in ("survival", "cumhazard", "hazard"):
            fwd = make(case, output, times=times, interpolation=scheme)
            assert torch.autograd.gradcheck(fwd, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


# --------------------------------------------------------------------------- Captum drop-in
def ig_targets(name):
    """Outputs explained per model (decided by name: no model is built at collection)."""
    out = [("survival", None)]
    if name == "DeepHit":
        out.append(("cif", 1))
    elif name in ("CoxPH", "CoxCC", "CoxTime"):
        out.append(("cumhazard", None))
    return out


IG_PARAMS = [pytest.param(n, o, e, id=f"{n}-{o}") for n in CASE_NAMES for o, e in ig_targets(n)]
RELU_NETS = ("CoxPH", "PMF")  # the other fixtures use Tanh


@pytest.mark.parametrize("name,output,event", IG_PARAMS)
def test_integrated_gradients_float32(name, output, event):
    case = get_case(name)
    fwd = make(case, output, event)
    k = len(fwd.times) // 2
    inputs = case.inputs(torch.float32, rows=ROWS)
    ig = IntegratedGradients(fwd)
    attr = ig.attribute(inputs if case.multi_input else inputs[0], target=k, n_steps=20)
    attr = attr if isinstance(attr, tuple) else (attr,)
    assert len(attr) == len(inputs)
    for a, x in zip(attr, inputs, strict=True):
        assert a.shape == x.shape and a.dtype == torch.float32
        assert torch.isfinite(a).all()
    assert sum(float(a.abs().sum()) for a in attr) > 0
    # the values: the same integral computed in float64 (float64 copy of the network)
    inputs64 = case.inputs(torch.float64, rows=ROWS)
    ref = ig.attribute(inputs64 if case.multi_input else inputs64[0], target=k, n_steps=20)
    ref = ref if isinstance(ref, tuple) else (ref,)
    scale = max(float(r.abs().max()) for r in ref)
    for a, r in zip(attr, ref, strict=True):
        err = (a.double() - r).abs().max().item()
        assert err <= 1e-5 * scale, (
            f"{name}/{output}: float32 IG off by {err:.3g} (scale {scale:.3g})"
        )


@pytest.mark.parametrize("name,output,event", IG_PARAMS)
def test_integrated_gradients_completeness(name, output, event):
    """sum_j IG_j(x) = F(x)[:, k] - F(0)[:, k] (Gauss-Legendre, float64).

    Tanh nets: 200 steps, 1e-5.  ReLU nets have kinks along the path, so the
    quadrature error falls slowly (measured 0.5% at 200 steps, <= 0.07% at 1000,
    0.03% at 2000; Captum's per-row gradient roots make many steps slow): 1000 steps, 3e-3."""
    case = get_case(name)
    fwd = make(case, output, event)
    inputs = case.inputs(torch.float64, rows=ROWS)
    baselines = tuple(torch.zeros_like(x) for x in inputs)
    ig = IntegratedGradients(fwd)
    T = len(fwd.times)
    targets = (T // 2, T - 1) if name in RELU_NETS else (1, T // 2, T - 1)
    for k in targets:
        n_steps = 1000 if name in RELU_NETS else 200
        attr = ig.attribute(inputs, baselines=baselines, target=k, n_steps=n_steps)
        total = sum(a.reshape(len(ROWS), -1).sum(1) for a in attr)
        with torch.no_grad():
            delta = fwd(*inputs)[:, k] - fwd(*baselines)[:, k]
        assert (total.abs() > 0).all()
        err = (total - delta).abs().max().item()
        scale = max(1.0, delta.abs().max().item())
        tol = 3e-3 if name in RELU_NETS else 1e-5
        assert err <= tol * scale, f"{name}/{output} t[{k}]: completeness error {err:.3g}"


def test_captum_needs_no_time_args():
    """The time grid lives on the module: no additional_forward_args needed, and
    per-example targets work."""
    case = get_case("MTLR")
    fwd = make(case, "survival")
    x = case.inputs(torch.float64)[0]
    targets = list(range(x.shape[0]))
    attr = IntegratedGradients(fwd).attribute(x, target=targets, n_steps=16)
    assert attr.shape == x.shape
    assert isinstance(fwd, captum_surv.SurvivalForward)
