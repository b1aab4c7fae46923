"""The Jacobian engine against plain autograd and Captum, on every route.

* Every pycox family and every output it supports: ``output_jacobian`` equals
  ``torch.autograd.functional.jacobian`` in float64, on the native grid and on a grid
  between native times, through forward and batched reverse mode where both exist.
* The proportional-hazards and generic accumulation branches for chunks that split an
  instance's sample points (a small ``batch_size``) give the same attributions.
* Layers without forward-mode derivatives (LSTM in float32, fused multi-head attention)
  and ops that vmap cannot batch fall back to reverse mode with the same numbers.
* Image and (image, tabular) inputs through both routes against Captum's loop.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _helpers import make, output_params
from captum.attr import InputXGradient, IntegratedGradients, Saliency
from torch import nn

import captum_surv
from captum_surv import TimeAttribution, explain
from captum_surv.attr import jacobian
from captum_surv.attr.jacobian import output_jacobian
from tests.zoo import get_case, wrap

ROWS = [0, 2, 5]
BOTH_ROUTES = ("forward", "reverse")


def _route(monkeypatch, route):
    monkeypatch.setattr(jacobian, "use_forward_mode", lambda f, t: route == "forward")


def _autograd_jacobian(fwd, inputs):
    """d fwd(inputs)[n, k] / d inputs[n] by plain autograd: tuple of [N, T, *S]."""
    full = torch.autograd.functional.jacobian(fwd, inputs)  # per input: [N, T, N, *S]
    n = inputs[0].shape[0]
    return tuple(j[torch.arange(n), :, torch.arange(n)] for j in full)


def _params():
    out = []
    for p in output_params():
        name = p.values[0]
        routes = ("ph",) if name in ("CoxPH", "CoxCC") else ("stacked",)
        if name != "CoxTime" and routes == ("stacked",):
            routes = BOTH_ROUTES
        for route in routes:
            for grid in ("native", "between"):
                out.append(pytest.param(*p.values, route, grid, id=f"{p.id}-{route}-{grid}"))
    return out


def _between(case, fwd):
    native = fwd.native_times.numpy()
    return np.array(
        [
            native[0] * 0.5,
            (native[1] + native[2]) / 2,
            native[len(native) // 2],
            0.3 * native[-3] + 0.7 * native[-2],
        ]
    )


@pytest.mark.parametrize("name,output,event,route,grid", _params())
def test_engine_jacobian_equals_autograd(name, output, event, route, grid, monkeypatch):
    if route in BOTH_ROUTES:
        _route(monkeypatch, route)
    case = get_case(name)
    fwd = make(case, output, event)
    if grid == "between":
        fwd = fwd.with_times(_between(case, fwd))
    inputs = case.inputs(torch.float64, rows=ROWS)
    jacobians, outputs = output_jacobian(fwd, inputs)
    reference = _autograd_jacobian(fwd, inputs)
    with torch.no_grad():
        assert torch.allclose(outputs, fwd(*inputs), rtol=1e-12, atol=1e-12)
    for jac, ref in zip(jacobians, reference, strict=True):
        scale = ref.abs().max().item()
        assert scale > 0
        assert torch.allclose(jac, ref, rtol=1e-9, atol=1e-10 * scale), (jac - ref).abs().max()


# --------------------------------------------------------------------------- chunking
@pytest.mark.parametrize("name", ["CoxPH", "LogisticHazard", "CoxTime"])
def test_chunks_that_split_instances_give_the_same_attributions(name):
    """batch_size=3 with 5 points per instance cuts instances across chunks (unequal
    segments); the result equals one chunk and Captum's IntegratedGradients loop."""
    case = get_case(name)
    fwd = make(case, "cumhazard").with_times(4)
    x = case.inputs(torch.float64, rows=ROWS)[0]
    small = explain(fwd, x, "intgrad", n_steps=5, batch_size=3)
    large = explain(fwd, x, "intgrad", n_steps=5)
    ig = IntegratedGradients(fwd)
    ref = torch.stack([ig.attribute(x, target=k, n_steps=5) for k in range(4)], dim=1)
    assert torch.allclose(small.attributions, large.attributions, rtol=1e-12, atol=1e-12)
    assert torch.allclose(small.attributions, ref, rtol=1e-7, atol=1e-7 * ref.abs().max())
    refs = case.inputs(torch.float64, rows=[1, 3, 4])[0]
    shap = [
        explain(fwd, x, "gradshap", refs, seed=0, sampling="random", n_samples=7, batch_size=b)
        for b in (4, 99)
    ]
    assert torch.allclose(shap[0].attributions, shap[1].attributions, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- no forward AD
class _LSTMNet(nn.Module):
    def __init__(self, n_out):
        super().__init__()
        self.rnn = nn.LSTM(2, 4, batch_first=True)
        self.head = nn.Linear(4, n_out)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


class _AttentionNet(nn.Module):
    def __init__(self, n_out):
        super().__init__()
        self.attention = nn.MultiheadAttention(4, 2, batch_first=True)
        self.head = nn.Linear(4, n_out)

    def forward(self, x):
        return self.head(self.attention(x, x, x, need_weights=False)[0].mean(dim=1))


class _HostTanh(torch.autograd.Function):
    """tanh whose backward reads a value to the host (.item()): vmap cannot batch it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.tanh(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        assert grad.abs().sum().item() >= 0
        return grad * (1 - torch.tanh(x) ** 2)


class _HostNet(nn.Module):
    def __init__(self, n_out):
        super().__init__()
        self.body, self.head = nn.Linear(6, 5), nn.Linear(5, n_out)

    def forward(self, x):
        return self.head(_HostTanh.apply(self.body(x.flatten(1))))


@pytest.mark.parametrize(
    "net_cls,shape,dtype",
    [
        (_LSTMNet, (3, 2), torch.float32),
        (_AttentionNet, (2, 4), torch.float64),
        (_HostNet, (3, 2), torch.float64),
    ],
    ids=["lstm-float32", "multihead-attention", "unbatchable-backward"],
)
def test_layers_without_forward_ad_fall_back_to_reverse_mode(net_cls, shape, dtype):
    torch.manual_seed(0)
    x_train = torch.randn((30, *shape))
    fwd = captum_surv.from_pycox(wrap("logistic_hazard", net_cls(12), x_train, n_cuts=12))
    x = x_train[:3].to(dtype)
    n_features = int(np.prod(shape))
    assert jacobian.use_forward_mode(n_features, fwd.n_times)  # forward mode is tried first
    with pytest.raises((NotImplementedError, RuntimeError)):  # and really fails
        torch.func.jvp(fwd, (x,), (torch.ones_like(x),))

    sal = Saliency(fwd)
    ref = torch.stack([sal.attribute(x, target=k, abs=False) for k in range(fwd.n_times)], 1)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    expl = explain(fwd, x, "grad")
    assert torch.allclose(expl.attributions, ref, rtol=tol, atol=tol * ref.abs().max())
    again = TimeAttribution(Saliency(fwd)).attribute(x, abs=False)
    assert torch.allclose(again, ref, rtol=tol, atol=tol * ref.abs().max())
    ig = IntegratedGradients(fwd)
    ig_ref = torch.stack([ig.attribute(x, target=k, n_steps=6) for k in range(fwd.n_times)], 1)
    ig_ours = explain(fwd, x, "intgrad", n_steps=6).attributions
    tol = max(tol, 1e-7)  # Captum's integration nodes are float32
    assert torch.allclose(ig_ours, ig_ref, rtol=tol, atol=tol * ig_ref.abs().max())


# --------------------------------------------------------------------------- images
class _ImageNet(nn.Module):
    def __init__(self, n_out):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.head = nn.Linear(8, n_out)

    def forward(self, image):
        return self.head(torch.tanh(self.conv(image)).flatten(1))


class _ImageTabularNet(_ImageNet):
    def __init__(self, n_out):
        super().__init__(n_out)
        self.tabular = nn.Linear(3, n_out)

    def forward(self, image, tabular):
        return super().forward(image) + torch.tanh(self.tabular(tabular))


@pytest.fixture(scope="module")
def image_forwards():
    torch.manual_seed(0)
    images, tabular = torch.randn(30, 1, 4, 4), torch.randn(30, 3)
    one = wrap("logistic_hazard", _ImageNet(6), images)
    two = wrap("logistic_hazard", _ImageTabularNet(6), (images, tabular))
    return {
        "image": (captum_surv.from_pycox(one, times=5), (images.double(),)),
        "image+tabular": (
            captum_surv.from_pycox(two, times=5),
            (images.double(), tabular.double()),
        ),
    }


def _loop(algorithm, n_times, inputs, **kwargs):
    per_target = [algorithm.attribute(inputs, target=k, **kwargs) for k in range(n_times)]
    per_target = [p if isinstance(p, tuple) else (p,) for p in per_target]
    return tuple(torch.stack([p[i] for p in per_target], dim=1) for i in range(len(per_target[0])))


@pytest.mark.parametrize("route", BOTH_ROUTES)
@pytest.mark.parametrize("kind", ["image", "image+tabular"])
def test_images_equal_captum_loop(image_forwards, kind, route, monkeypatch):
    _route(monkeypatch, route)
    fwd, data = image_forwards[kind]
    inputs = tuple(t[:3] for t in data)
    arg = inputs if len(inputs) > 1 else inputs[0]
    cases = [
        ("grad", {}, Saliency(fwd), {"abs": False}),
        ("gxi", {}, InputXGradient(fwd), {}),
        ("intgrad", {"n_steps": 6}, IntegratedGradients(fwd), {"n_steps": 6}),
    ]
    for method, options, algorithm, kwargs in cases:
        expl = explain(fwd, arg, method, **options)
        ours = expl.attributions if len(inputs) > 1 else (expl.attributions,)
        for a, b in zip(ours, _loop(algorithm, fwd.n_times, arg, **kwargs), strict=True):
            assert a.shape == b.shape
            scale = b.abs().max().item()
            assert scale > 0
            assert torch.allclose(a, b, rtol=1e-7, atol=1e-7 * scale), (method, (a - b).abs().max())
