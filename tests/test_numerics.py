"""Numerical robustness: extreme network outputs and diverged models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchtuples as tt
from pycox import models as pm

import captum_surv


def _pmf_forward(output: str, n_cuts: int = 6):
    net = tt.practical.MLPVanilla(3, [4], n_cuts)
    model = pm.PMF(net, duration_index=np.linspace(0, 5, n_cuts))
    return model, captum_surv.from_pycox(model, output=output)


def test_pmf_hazard_is_finite_when_survival_underflows():
    """Survival below float32's range made pmf / S(t_{k-1}) a 0/0; log-space sums fix it."""
    _, fwd = _pmf_forward("hazard")
    phi = torch.tensor([[60.0, -60.0, -60.0, -60.0, -60.0, -60.0]], requires_grad=True)
    hazard = fwd.output_from_raw(phi)
    assert torch.isfinite(hazard).all()
    # reference in float64: pmf_k / sum_{j >= k} of softmax([phi, 0])
    p = torch.softmax(torch.cat([phi.detach().double(), torch.zeros(1, 1).double()], 1), 1)[0]
    tail = torch.flip(torch.cumsum(torch.flip(p, [0]), 0), [0])
    expected = (p[:-1] / tail[:-1]).float()
    assert torch.allclose(hazard[0], expected, rtol=1e-5, atol=0)
    hazard.sum().backward()
    assert torch.isfinite(phi.grad).all()


def test_discrete_hazard_on_custom_grid_where_survival_is_zero():
    _, fwd = _pmf_forward("hazard")
    fwd = fwd.with_times([0.5, 1.5, 2.5, 3.5], interpolation="step")
    phi = torch.tensor([[200.0, -200.0, -200.0, -200.0, -200.0, -200.0]], requires_grad=True)
    hazard = fwd.output_from_raw(phi)
    assert torch.isfinite(hazard).all()
    hazard.sum().backward()
    assert torch.isfinite(phi.grad).all()


def test_diverged_weights_are_rejected():
    model, _ = _pmf_forward("survival")
    with torch.no_grad():
        next(model.net.parameters())[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf weights.*diverged"):
        captum_surv.from_pycox(model)


def test_nan_baseline_hazards_are_rejected():
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    d = np.linspace(0.1, 4, 40).astype(np.float32)
    e = np.ones(40, dtype=np.float32)
    model = pm.CoxPH(tt.practical.MLPVanilla(3, [4], 1), tt.optim.Adam)
    model.fit(x, (d, e), epochs=1, verbose=False)
    model.compute_baseline_hazards()
    model.baseline_hazards_.iloc[3] = np.nan
    with pytest.raises(ValueError, match="baseline hazards contain NaN"):
        captum_surv.from_pycox(model)
