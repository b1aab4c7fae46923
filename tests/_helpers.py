"""Helpers shared by the test modules (calls into captum_surv live here, references do not)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import captum_surv
from tests.zoo import CASE_NAMES, EVENT_OUTPUTS, OUTPUTS

ATOL = 1e-5


def output_params(names=CASE_NAMES):
    out = []
    for name in names:
        for o in OUTPUTS[name]:
            if name == "DeepHit" and o in EVENT_OUTPUTS:
                out += [pytest.param(name, o, r, id=f"{name}-{o}-{r}") for r in (0, 1)]
            else:
                out.append(pytest.param(name, o, None, id=f"{name}-{o}"))
    return out


COX_NAMES = ["CoxPH", "CoxCC", "CoxTime"]
DISCRETE_NAMES = [n for n in CASE_NAMES if n not in COX_NAMES]
CONST_PDF_NAMES = ["LogisticHazard", "LogisticHazard2in", "PMF", "DeepHitSingle", "MTLR", "BCESurv"]
CONST_HAZARD_NAMES = ["LogisticHazard", "LogisticHazard2in", "PCHazard"]


def make(case, output="survival", event=None, **kw):
    if event is not None:
        kw["event"] = event
    return captum_surv.from_pycox(case.model, output=output, **kw)


def run(fwd, case, dtype=torch.float32):
    with torch.no_grad():
        out = fwd(*case.inputs(dtype))
    assert isinstance(out, torch.Tensor)
    assert out.dtype == dtype
    return out.double().numpy()


def check(actual, expected, output, what=""):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    rtol = 1e-5 if output in ("cumhazard", "hazard", "log_risk") else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=ATOL, err_msg=what)


def times_np(fwd):
    t = fwd.times
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64 and t.dim() == 1
    return t.numpy()
