"""Integer inputs (category codes for ``nn.Embedding``) with the five built-in methods.

Integer tensors are held fixed and get zero attributions; the float inputs must be
explained exactly as Captum explains them when the integer tensor is passed as a fixed
``additional_forward_args``. Every Jacobian route is covered: proportional hazards
(CoxPH), CoxTime, and the discrete head's forward and batched reverse modes.
"""

from __future__ import annotations

import pytest
import torch
from captum.attr import InputXGradient, IntegratedGradients, Saliency

import captum_surv
from captum_surv import explain
from captum_surv.attr import jacobian
from tests.zoo import CodesOnlyNet, EmbeddingNet, EmbeddingTimeNet, wrap

N_FLOAT, N_LEVELS, N_CODES = 3, 5, 2
ROUTES = ["coxph", "coxtime", "forward", "reverse"]


def _data(n: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((n, N_FLOAT), generator=gen)
    codes = torch.randint(N_LEVELS, (n, N_CODES), generator=gen)
    return x, codes


@pytest.fixture(scope="module")
def forwards():
    torch.manual_seed(0)
    x, codes = _data(60, 0)
    out = {}
    out["coxph"] = wrap("coxph", EmbeddingNet(N_FLOAT, N_LEVELS, 1), (x, codes))
    out["coxtime"] = wrap("coxtime", EmbeddingTimeNet(N_FLOAT, N_LEVELS), (x, codes))
    out["discrete"] = wrap("logistic_hazard", EmbeddingNet(N_FLOAT, N_LEVELS, 6), (x, codes))
    return {k: captum_surv.from_pycox(m, times=5) for k, m in out.items()}


def _forward(forwards, route, monkeypatch):
    if route in ("forward", "reverse"):  # force the discrete head's Jacobian route
        monkeypatch.setattr(jacobian, "use_forward_mode", lambda f, t: route == "forward")
        return forwards["discrete"]
    return forwards[route]


def _loop(algorithm, fwd, x, codes, **kwargs):
    """Captum over every target with the codes as a fixed extra argument: [B, T, F]."""
    return torch.stack(
        [
            algorithm.attribute(x, target=k, additional_forward_args=(codes,), **kwargs)
            for k in range(fwd.n_times)
        ],
        dim=1,
    )


def _saliency_at(fwd, points, codes):
    return _loop(Saliency(fwd), fwd, points, codes, abs=False)


def _check(expl, ref, codes):
    attr_x, attr_codes = expl.attributions
    assert attr_codes.dtype == torch.float64 and attr_codes.shape == (*codes.shape[:1], 5, N_CODES)
    assert torch.count_nonzero(attr_codes) == 0
    scale = ref.abs().max().item()
    assert scale > 1e-4
    assert torch.allclose(attr_x, ref, rtol=1e-7, atol=1e-7 * scale), (attr_x - ref).abs().max()


@pytest.mark.parametrize("route", ROUTES)
def test_grad_gxi_intgrad_hold_codes_fixed(forwards, route, monkeypatch):
    fwd = _forward(forwards, route, monkeypatch)
    x, codes = _data(4, 1)
    x = x.double()
    _check(explain(fwd, (x, codes), "grad"), _saliency_at(fwd, x, codes), codes)
    _check(explain(fwd, (x, codes), "gxi"), _loop(InputXGradient(fwd), fwd, x, codes), codes)
    ig = explain(fwd, (x, codes), "intgrad", n_steps=8)
    ref = _loop(IntegratedGradients(fwd), fwd, x, codes, baselines=torch.zeros_like(x), n_steps=8)
    _check(ig, ref, codes)
    # the reference prediction keeps each instance's own codes
    with torch.no_grad():
        assert torch.allclose(ig.reference_prediction, fwd(torch.zeros_like(x), codes))


@pytest.mark.parametrize("route", ROUTES)
def test_smoothgrad_and_gradshap_hold_codes_fixed(forwards, route, monkeypatch):
    fwd = _forward(forwards, route, monkeypatch)
    x, codes = _data(3, 2)
    x = x.double()
    reference, ref_codes = _data(20, 3)
    reference = reference.double()
    n = x.shape[0]

    sg = explain(fwd, (x, codes), "smoothgrad", (reference, None), seed=4, n_samples=3)
    gen = torch.Generator().manual_seed(4)
    noise = torch.stack(  # drawn instance by instance
        [torch.randn((3, N_FLOAT), generator=gen, dtype=torch.float64) for _ in range(n)]
    )
    points = (x[:, None] + noise * 0.1 * reference.std(dim=0)).reshape(-1, N_FLOAT)
    sal = _saliency_at(fwd, points, codes.repeat_interleave(3, dim=0))
    _check(sg, sal.reshape(n, 3, fwd.n_times, N_FLOAT).mean(dim=1), codes)

    shap = explain(
        fwd, (x, codes), "gradshap", (reference, None), seed=5, sampling="random", n_samples=4
    )
    gen = torch.Generator().manual_seed(5)
    index = torch.randint(20, (n, 4), generator=gen)
    alpha = torch.rand((n, 4), generator=gen, dtype=torch.float64)
    start = reference[index]
    delta = x[:, None] - start
    points = (start + alpha[..., None] * delta).reshape(-1, N_FLOAT)
    sal = _saliency_at(fwd, points, codes.repeat_interleave(4, dim=0))
    ref = (sal.reshape(n, 4, fwd.n_times, N_FLOAT) * delta[:, :, None]).mean(dim=1)
    _check(shap, ref, codes)
    with torch.no_grad():  # mean over the reference rows, each instance with its own codes
        expected = torch.stack([fwd(reference, c.expand(20, -1)).mean(0) for c in codes])
    assert torch.allclose(shap.reference_prediction, expected, atol=1e-12)


def test_codes_first_and_codes_only(forwards):
    x, codes = _data(40, 6)
    torch.manual_seed(1)
    first = wrap(
        "logistic_hazard", EmbeddingNet(N_FLOAT, N_LEVELS, 6, codes_first=True), (codes, x)
    )
    fwd = captum_surv.from_pycox(first, times=5)
    expl = explain(fwd, (codes[:3], x[:3].double()), "intgrad", n_steps=6)
    assert torch.count_nonzero(expl.attributions[0]) == 0
    ig = IntegratedGradients(lambda xs, cs: fwd(cs, xs))
    ref = torch.stack(
        [
            ig.attribute(x[:3].double(), target=k, additional_forward_args=(codes[:3],), n_steps=6)
            for k in range(5)
        ],
        dim=1,
    )
    assert torch.allclose(expl.attributions[1], ref, atol=1e-10)

    only = captum_surv.from_pycox(
        wrap("logistic_hazard", CodesOnlyNet(N_LEVELS, 6), codes), times=5
    )
    methods = [("grad", {}), ("gxi", {}), ("intgrad", {}), ("smoothgrad", {"stdevs": 0.5})]
    for method, kwargs in [*methods, ("gradshap", {"seed": 0})]:
        expl = explain(only, codes[:2], method, **kwargs)
        assert expl.attributions.dtype == torch.float32
        assert expl.attributions.shape == (2, 5, N_CODES)
        assert torch.count_nonzero(expl.attributions) == 0


def test_integer_baseline_entries_must_be_none(forwards):
    fwd = forwards["discrete"]
    x, codes = _data(3, 7)
    with pytest.raises(ValueError, match=r"baselines tensor 1 is given for an integer input"):
        explain(fwd, (x, codes), "intgrad", (torch.zeros(1, N_FLOAT), torch.zeros(1, N_CODES)))
    with pytest.raises(ValueError, match=r"stdevs\[1\] is given for input 1, an integer tensor"):
        explain(fwd, (x, codes), "smoothgrad", stdevs=(0.1, 0.3))
