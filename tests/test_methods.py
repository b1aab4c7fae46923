"""The paper's five gradient methods over the whole grid, checked against Captum.

References are Captum's own algorithms looped over targets (Saliency, InputXGradient,
IntegratedGradients), or, for the randomised methods, the same random draws pushed
through Captum's Saliency one target at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from captum.attr import InputXGradient, IntegratedGradients, Saliency
from torch import nn

import captum_surv
from captum_surv import explain
from captum_surv.attr.jacobian import _full_jacobian, output_jacobian
from tests.zoo import build

KINDS = ["coxph", "coxtime", "logistic_hazard", "pchazard", "deephit", "two_input"]


@pytest.fixture(scope="module")
def trained():
    cache: dict = {}

    def get(kind: str, activation: type[nn.Module] = nn.Tanh):
        key = (kind, activation)
        if key not in cache:
            cache[key] = build(kind, activation)
        return cache[key]

    return get


def _forward(model, kind: str, n_times: int = 5):
    if kind == "deephit":
        return captum_surv.from_pycox(model, output="cif", event=1, times=n_times)
    return captum_surv.from_pycox(model, times=n_times)


def _rows(x, sl):
    return tuple(t[sl] for t in x) if isinstance(x, tuple) else x[sl]


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _loop(algorithm, fwd, inputs, **kwargs):
    """Captum looped over targets, stacked to [B, T, *S] (tuple)."""
    per_target = [
        _as_tuple(algorithm.attribute(inputs, target=k, **kwargs)) for k in range(fwd.n_times)
    ]
    return tuple(torch.stack([p[i] for p in per_target], dim=1) for i in range(len(per_target[0])))


def _assert_close(ours, ref, rtol=1e-5):
    for a, b in zip(_as_tuple(ours), _as_tuple(ref), strict=True):
        scale = b.abs().max().item()
        assert scale > 0
        assert torch.allclose(a, b, rtol=rtol, atol=rtol * scale), (a - b).abs().max().item()


@pytest.mark.parametrize("kind", KINDS)
def test_grad_gxi_intgrad_equal_captum(trained, kind):
    model, x = trained(kind)
    fwd = _forward(model, kind)
    inputs = _rows(x, slice(0, 4))

    grad = explain(fwd, inputs, "grad")
    _assert_close(grad.attributions, _loop(Saliency(fwd), fwd, inputs, abs=False))

    gxi = explain(fwd, inputs, "gxi")
    _assert_close(gxi.attributions, _loop(InputXGradient(fwd), fwd, inputs))

    ig = explain(fwd, inputs, "intgrad", n_steps=30)
    _assert_close(ig.attributions, _loop(IntegratedGradients(fwd), fwd, inputs, n_steps=30))

    baselines = _rows(x, slice(10, 14))  # one baseline per instance
    ig = explain(fwd, inputs, "intgrad", baselines, n_steps=12, integration="riemann_trapezoid")
    ref = _loop(
        IntegratedGradients(fwd),
        fwd,
        inputs,
        baselines=baselines,
        n_steps=12,
        method="riemann_trapezoid",
    )
    _assert_close(ig.attributions, ref)


def _saliency_at(fwd, points):
    """Captum Saliency (signed) for every target: [P, T, *S]."""
    sal = Saliency(fwd)
    return torch.stack([sal.attribute(points, target=k, abs=False) for k in range(fwd.n_times)], 1)


@pytest.mark.parametrize("kind", ["coxph", "logistic_hazard", "coxtime"])
def test_smoothgrad_matches_reference_with_same_draws(trained, kind):
    model, x = trained(kind)
    fwd = _forward(model, kind)
    inputs, reference = x[:3], x[50:150]
    expl = explain(
        fwd, inputs, "smoothgrad", seed=7, n_samples=6, noise_level=0.2, reference=reference
    )

    gen = torch.Generator().manual_seed(7)
    noise = torch.stack(  # drawn instance by instance
        [torch.randn((6, x.shape[1]), generator=gen, dtype=inputs.dtype) for _ in range(3)]
    )
    sd = torch.tensor(np.std(reference.numpy(), axis=0, ddof=1), dtype=inputs.dtype)
    points = (inputs[:, None, :] + noise * 0.2 * sd).reshape(-1, x.shape[1])
    ref = _saliency_at(fwd, points).reshape(3, 6, fwd.n_times, -1).mean(dim=1)
    _assert_close(expl.attributions, ref)


@pytest.mark.parametrize("kind", ["coxph", "deephit", "coxtime"])
def test_gradshap_matches_reference_with_same_draws(trained, kind):
    model, x = trained(kind)
    fwd = _forward(model, kind)
    inputs, refs = x[:3], x[100:120]
    expl = explain(fwd, inputs, "gradshap", refs, seed=3, sampling="random", n_samples=8)

    gen = torch.Generator().manual_seed(3)
    index = torch.randint(20, (3, 8), generator=gen)
    alpha = torch.rand((3, 8), generator=gen, dtype=torch.float64).to(inputs.dtype)
    start = refs[index]  # [3, 8, F]
    delta = inputs[:, None, :] - start
    points = (start + alpha[..., None] * delta).reshape(-1, x.shape[1])
    sal = _saliency_at(fwd, points).reshape(3, 8, fwd.n_times, -1)
    ref = (sal * delta[:, :, None, :]).mean(dim=1)
    _assert_close(expl.attributions, ref)
    mean_ref = fwd(refs).mean(0).detach()
    assert torch.allclose(expl.reference_prediction, mean_ref.expand(3, -1), atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_intgrad_completeness_float64(trained, kind):
    model, x = trained(kind)
    fwd = _forward(model, kind, n_times=6)
    inputs = tuple(t[:5].double() for t in _as_tuple(x))
    inputs = inputs if isinstance(x, tuple) else inputs[0]
    expl = explain(fwd, inputs, "intgrad", n_steps=64)
    residual = expl.completeness_residual()
    assert residual.dtype == torch.float64
    assert residual.abs().max().item() <= 1e-6
    # the reference prediction is the forward at the baseline (zeros)
    zeros = tuple(torch.zeros_like(t[:1]) for t in _as_tuple(inputs))
    assert torch.allclose(expl.reference_prediction[0], fwd(*zeros)[0])


def test_intgrad_relu_gap_shrinks_with_steps(trained):
    model, x = trained("coxph", nn.ReLU)
    fwd = captum_surv.from_pycox(model, times=6)
    inputs = x[:8].double()
    gaps = [
        explain(fwd, inputs, "intgrad", n_steps=n, integration="riemann_trapezoid")
        .completeness_residual()
        .abs()
        .max()
        .item()
        for n in (4, 64, 1000)
    ]
    assert gaps[2] < gaps[0]
    assert gaps[2] <= 1e-3


@pytest.mark.parametrize("kind", ["coxph", "logistic_hazard"])
def test_gradshap_local_accuracy_improves_and_deterministic_variant(trained, kind):
    model, x = trained(kind)
    fwd = _forward(model, kind, n_times=6)
    inputs, refs = x[:10].double(), x[100:115].double()
    la = [
        explain(fwd, inputs, "gradshap", refs, sampling="random", n_samples=n, seed=0)
        .local_accuracy()
        .mean()
        .item()
        for n in (4, 64, 1024)
    ]
    assert la[2] < la[1] < la[0]
    exact = explain(fwd, inputs, "gradshap", refs, sampling="gausslegendre", n_steps=48)
    assert exact.local_accuracy().max().item() <= 1e-6
    assert exact.local_accuracy().max().item() < la[2]


def test_chunking_and_seed_reproducibility(trained):
    model, x = trained("logistic_hazard")
    fwd = _forward(model, "logistic_hazard")
    refs = x[100:110]
    a = explain(fwd, x[:4], "gradshap", refs, seed=5, sampling="random", n_samples=16)
    b = explain(fwd, x[:4], "gradshap", refs, seed=5, sampling="random", n_samples=16, batch_size=7)
    c = explain(fwd, x[:4], "gradshap", refs, seed=6, sampling="random", n_samples=16)
    assert torch.allclose(a.attributions, b.attributions, atol=1e-6)
    assert not torch.allclose(a.attributions, c.attributions)
    s1 = explain(fwd, x[:4], "smoothgrad", x[50:150], seed=1)
    s2 = explain(fwd, x[:4], "smoothgrad", x[50:150], seed=1)
    assert torch.equal(s1.attributions, s2.attributions)


def test_jacobian_engine_routes_match_autograd(trained):
    # reverse route: more input features than raw outputs
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 7), nn.Tanh(), nn.Linear(7, 3)).double()
    x = torch.randn(4, 10, dtype=torch.float64)
    (jac,), _ = _full_jacobian(net, (x,))
    ref = torch.autograd.functional.jacobian(net, x).diagonal(dim1=0, dim2=2).permute(2, 0, 1)
    assert torch.allclose(jac, ref, atol=1e-12)
    # forward route: fewer features than raw outputs
    net2 = nn.Sequential(nn.Linear(2, 9), nn.Tanh()).double()
    x2 = torch.randn(4, 2, dtype=torch.float64)
    (jac2,), _ = _full_jacobian(net2, (x2,))
    ref2 = torch.autograd.functional.jacobian(net2, x2).diagonal(dim1=0, dim2=2).permute(2, 0, 1)
    assert torch.allclose(jac2, ref2, atol=1e-12)
    # a full forward: every family's Jacobian vs autograd's
    for kind in ("coxph", "coxtime", "pchazard", "deephit"):
        model, xs = trained(kind)
        fwd = _forward(model, kind)
        xd = xs[:3].double()
        (j,), out = output_jacobian(fwd, (xd,))
        full = torch.autograd.functional.jacobian(fwd, xd)  # [B, T, B, F]
        assert torch.allclose(j, full.diagonal(dim1=0, dim2=2).permute(2, 0, 1), atol=1e-10)
        assert torch.allclose(out, fwd(xd))


def test_dataframe_inputs_give_feature_names(trained):
    model, x = trained("coxph")
    fwd = captum_surv.from_pycox(model, times=4)
    frame = pd.DataFrame(x[:3].numpy(), columns=["age", "size", "grade", "nodes", "er"])
    expl = explain(fwd, frame, "grad")
    assert list(expl.feature_names) == ["age", "size", "grade", "nodes", "er"]
    assert torch.equal(expl.inputs, x[:3])


def test_model_is_not_changed(trained):
    model, x = trained("coxph")
    model.net.train()
    before = {k: v.clone() for k, v in model.net.state_dict().items()}
    modes = [m.training for m in model.net.modules()]
    flags = [p.requires_grad for p in model.net.parameters()]
    fwd = captum_surv.from_pycox(model, times=4)
    explain(fwd, x[:3], "gradshap", x[50:60], path_points=4)
    explain(fwd, x[:3], "intgrad")
    assert all(torch.equal(before[k], v) for k, v in model.net.state_dict().items())
    assert modes == [m.training for m in model.net.modules()]
    assert flags == [p.requires_grad for p in model.net.parameters()]


def test_bad_input_errors(trained):
    model, x = trained("coxph")
    fwd = captum_surv.from_pycox(model, times=4)
    with pytest.raises(TypeError, match="SurvivalForward"):
        explain(model.net, x[:2], "grad")
    with pytest.raises(ValueError, match="Valid methods.*gradshap"):
        explain(fwd, x[:2], "shap")
    with pytest.raises(ValueError, match="per-instance shape"):
        explain(fwd, x[:2], "intgrad", torch.zeros(1, 3))
    with pytest.raises(ValueError, match="empty"):
        explain(fwd, x[:2], "gradshap", torch.zeros(0, 5))
    with pytest.raises(ValueError, match="needs reference data"):
        explain(fwd, x[:2], "gradshap")
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        explain(fwd, x[:2], "gradshap", x[10:20], sampling="random", n_samples=0)
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        explain(fwd, x[:2], "intgrad", n_steps=-3)
    with pytest.raises(ValueError, match="NaN"):
        explain(fwd, torch.full((2, 5), float("nan")), "grad")
    with pytest.raises(ValueError, match="NaN"):
        explain(fwd, x[:2], "intgrad", torch.full((1, 5), float("nan")))
    with pytest.raises(ValueError, match="integration"):
        explain(fwd, x[:2], "intgrad", integration="simpson")
    two, xt = trained("two_input")
    fwd2 = captum_surv.from_pycox(two, times=3)
    with pytest.raises(ValueError, match="one baseline tensor per input"):
        explain(fwd2, (xt[0][:2], xt[1][:2]), "intgrad", torch.zeros(1, 3))
    with pytest.raises(ValueError, match="takes 2 input tensor"):
        explain(fwd2, xt[0][:2], "grad")


def test_explain_routes_captum_classes_through_time_attribution(trained):
    from captum.attr import FeatureAblation, KernelShap

    model, x = trained("coxph")
    fwd = captum_surv.from_pycox(model, times=4)
    expl = explain(fwd, x[:3], KernelShap, seed=0, n_samples=64)
    assert expl.method == "KernelShap"
    assert expl.attributions.shape == (3, 4, x.shape[1])
    # same seed, same draws: equals KernelShap looped over targets, re-seeded before each
    loop = []
    for k in range(4):
        torch.manual_seed(0)
        np.random.seed(0)
        loop.append(KernelShap(fwd).attribute(x[:3], target=k, n_samples=64))
    assert torch.allclose(expl.attributions, torch.stack(loop, 1), atol=1e-6)
    # the default baseline of Captum's perturbation methods is zero
    zero_out = fwd(torch.zeros(1, x.shape[1])).detach()
    assert torch.allclose(expl.reference_prediction, zero_out.expand(3, -1))
    ablation = explain(fwd, x[:3], FeatureAblation)
    ref = torch.stack([FeatureAblation(fwd).attribute(x[:3], target=k) for k in range(4)], 1)
    assert torch.allclose(ablation.attributions, ref, atol=1e-6)
    with pytest.raises(ValueError, match="Captum attribution class"):
        explain(fwd, x[:3], 42)
