"""The fast routes of the Jacobian engine against independent references.

* Discrete-time heads (LogisticHazard, PMF, MTLR, PCHazard, BCESurv, DeepHit and its
  event-specific outputs), differentiated layer by layer to their logits and then through
  the head, forward and reverse mode: equal to Captum's IntegratedGradients looped over
  every time target (float64), and the layer-by-layer route is really taken.
* Chunking rows (``chunk_rows``, ``batch_size``) does not change the numbers.
* The layer-by-layer tangents equal ``torch.func.jacfwd`` on networks with residual
  additions, views, layer norms and integer inputs; untraceable networks fall back.
* CoxTime: the split first layer equals stacked rows (forward and Jacobian); networks
  whose first layer is not a Linear on ``[x, t]`` are not split and still exact.
* CoxTime ``with_knots``: equals linear interpolation of ``g`` between the knots (computed
  here with numpy), its Jacobian equals autograd's, its error shrinks with more knots,
  it is exact with as many knots as jump times, and bad ``knots`` get clear errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import captum_surv
from captum_surv import explain
from captum_surv.attr import forward_mode, jacobian, layer_chain
from captum_surv.attr.jacobian import head_jacobian, output_jacobian
from captum_surv.models import coxtime

P, N_CUTS = 4, 6
DTYPE = torch.float64


def _mlp(p: int, out: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(p, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, out))


class _Competing(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = _mlp(P, 2 * N_CUTS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).view(-1, 2, N_CUTS)


CUTS = np.linspace(0.0, 5.0, N_CUTS)


def _discrete(name: str, output: str = "survival", event: int | None = None):
    from pycox import models as pm

    if name == "DeepHit":
        net = _Competing().to(DTYPE)
        return captum_surv.from_module(
            net, "competing_pmf", cuts=CUTS, n_risks=2, output=output, event=event
        )
    cls = {
        "LogisticHazard": pm.LogisticHazard,
        "PMF": pm.PMF,
        "MTLR": pm.MTLR,
        "BCESurv": pm.BCESurv,
        "DeepHitSingle": pm.DeepHitSingle,
    }[name]
    model = cls(_mlp(P, N_CUTS).to(DTYPE), duration_index=CUTS)
    return captum_surv.from_pycox(model, output=output)


def _x(n: int = 5, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, P, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)


def _ig_loop(fwd, x, base, steps=8):
    ig = IntegratedGradients(fwd)
    return torch.stack(
        [ig.attribute(x, baselines=base, target=k, n_steps=steps) for k in range(fwd.n_times)], 1
    )


FAMILIES = [
    ("LogisticHazard", "survival", None),
    ("LogisticHazard", "hazard", None),
    ("LogisticHazard", "cumhazard", None),
    ("PMF", "survival", None),
    ("PMF", "pmf", None),
    ("MTLR", "survival", None),
    ("MTLR", "cumhazard", None),
    ("DeepHitSingle", "hazard", None),
    ("BCESurv", "survival", None),
    ("DeepHit", "survival", None),
    ("DeepHit", "cif", 0),
    ("DeepHit", "pmf", 1),
    ("DeepHit", "hazard", 1),
]


@pytest.mark.parametrize("route", ["forward", "reverse"])
@pytest.mark.parametrize("name,output,event", FAMILIES)
def test_head_route_equals_captum_loop(name, output, event, route, monkeypatch):
    fwd = _discrete(name, output, event)
    if output not in ("survival", "cumhazard"):  # a grid between the cuts too
        fwd = fwd.with_times(np.array([0.5, 1.7, 2.5, 4.2]))
    monkeypatch.setattr(jacobian, "use_forward_mode", lambda f, k: route == "forward")
    used = []
    original = forward_mode.network_tangents

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        used.append(True)
        return result

    monkeypatch.setattr(jacobian, "network_tangents", spy)
    x, base = _x(), torch.zeros(1, P, dtype=DTYPE)
    ours = explain(fwd, x, "intgrad", base, n_steps=8).attributions
    reference = _ig_loop(fwd, x, base)
    scale = reference.abs().max()
    assert scale > 0
    # Captum's path weights carry about 1e-8 relative error (test_chunk_size... checks the
    # Jacobian itself against autograd at 1e-10)
    assert torch.allclose(ours, reference, rtol=1e-7, atol=1e-7 * scale)
    assert bool(used) == (route == "forward")  # forward mode: layer by layer, not vmap(jvp)


@pytest.mark.parametrize("name", ["LogisticHazard", "DeepHit"])
@pytest.mark.parametrize("route", ["forward", "reverse"])
def test_chunk_size_does_not_change_results(name, route, monkeypatch):
    monkeypatch.setattr(jacobian, "use_forward_mode", lambda f, k: route == "forward")
    fwd = _discrete(name)
    x = _x(11)
    net, inputs = fwd.prepare_inputs(x)
    whole, out = head_jacobian(fwd, net, inputs, chunk_rows=1000)
    for rows in (1, 4):
        chunked, out_chunked = head_jacobian(fwd, net, inputs, chunk_rows=rows)
        assert torch.allclose(chunked[0], whole[0], rtol=1e-13, atol=1e-15)
        assert torch.allclose(out_chunked, out, rtol=1e-13, atol=1e-15)
    reference = torch.autograd.functional.jacobian(fwd, x)  # [N, T, N, P]
    reference = reference[torch.arange(11), :, torch.arange(11)]
    assert torch.allclose(whole[0], reference, rtol=1e-10, atol=1e-12)
    small = explain(fwd, x, "intgrad", n_steps=5, batch_size=3).attributions
    large = explain(fwd, x, "intgrad", n_steps=5, batch_size=10_000).attributions
    assert torch.allclose(small, large, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("output", ["survival", "cumhazard"])
def test_logistic_hazard_closed_form_tangents_equal_jvp(output):
    fwd = _discrete("LogisticHazard", output)
    raw = 3 * _x(7, seed=4)[:, :1] + torch.linspace(-4, 4, N_CUTS, dtype=DTYPE)  # h near 0, 1
    directions = torch.randn(7, 3, N_CUTS, generator=torch.Generator().manual_seed(5)).to(DTYPE)
    out, tangents = fwd.output_tangents(raw, directions)  # rows first: [7, 3, T]
    reference = torch.stack(
        [torch.func.jvp(fwd.output_from_network, (raw,), (directions[:, d],))[1] for d in range(3)],
        dim=1,
    )
    assert torch.equal(out, fwd.output_from_network(raw))
    assert torch.allclose(tangents, reference, rtol=1e-12, atol=1e-15)
    between = fwd.with_times(np.array([0.5, 1.7]))  # no closed form off the cuts: jvp
    assert between.output_tangents(raw, directions) is None


# ---------------------------------------------------------------- layer-by-layer tangents
class _Residual(nn.Module):
    """Residual block, layer norm, a view and an embedded integer input."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.embed = nn.Embedding(3, 2)
        self.inp = nn.Linear(P + 2, 6)
        self.norm = nn.LayerNorm(6)
        self.hidden = nn.Linear(6, 6)
        self.out = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.inp(torch.cat([x, self.embed(code)], dim=1)))
        h = self.norm(h + torch.nn.functional.softplus(self.hidden(h)))
        return self.out(h).view(x.shape[0], 2, 2) * 0.5


class _Branching(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(P, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lin(x)
        return torch.tanh(h) if bool(h.sum() > 0) else torch.sin(h)


def test_layer_by_layer_tangents_equal_jacfwd():
    net = _Residual().to(DTYPE)
    x, code = _x(6), torch.tensor([0, 1, 2, 1, 0, 2])
    directions = jacobian._unit_directions((x, code), [0])
    out, tangents = forward_mode.network_tangents(net, (x, code), directions, unit=True)
    reference = torch.func.vmap(torch.func.jacfwd(lambda r, c: net(r[None], c[None])[0]))(x, code)
    with torch.no_grad():
        assert torch.equal(out, net(x, code))
    assert torch.allclose(tangents.movedim(1, -1), reference, rtol=1e-12, atol=1e-14)
    assert forward_mode.traced(_Branching()) is None
    with pytest.raises(forward_mode.Untraceable):
        forward_mode.network_tangents(_Branching(), (x,), [torch.zeros(6, P, P)])


def test_hooks_on_the_network_itself_are_honoured(monkeypatch):
    """A forward hook on the (top-level) network changes its output; the graph would skip
    it, so the engine must not take the layer-by-layer route."""
    monkeypatch.setattr(jacobian, "use_forward_mode", lambda f, k: True)
    fwd = _discrete("LogisticHazard")
    x = _x(3)
    handle = fwd.net.register_forward_hook(lambda module, args, out: 2 * out)
    try:
        (jac,), _ = output_jacobian(fwd, (x,))
        reference = torch.autograd.functional.jacobian(fwd, x)[torch.arange(3), :, torch.arange(3)]
    finally:
        handle.remove()
    assert torch.allclose(jac, reference, rtol=1e-10, atol=1e-13)


class _Recurrent(nn.Module):
    """A network without forward-mode derivatives (LSTM) on one feature per row."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lstm = nn.LSTM(1, 4, batch_first=True)
        self.out = nn.Linear(4, N_CUTS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.lstm(x[:, :, None])[0][:, -1])


def test_first_call_without_forward_ad_equals_later_calls():
    """The first call finds that the network has no forward-mode derivative and falls back;
    it must take the route later calls take, so that the same inputs (and, for SG(t) and
    GradSHAP(t), the same seed) give bit-identical attributions. It took another reverse
    route before, which differed in the last bits (found by the property tests)."""
    from pycox import models as pm

    model = pm.LogisticHazard(_Recurrent(), duration_index=CUTS)
    fwd = captum_surv.from_pycox(model, times=[1.0, 3.0])  # T = 2 < 6 logits
    x = torch.randn(7, 1, generator=torch.Generator().manual_seed(3))
    (first,), out_first = output_jacobian(fwd, (x,))
    (second,), out_second = output_jacobian(fwd, (x,))
    assert torch.equal(first, second) and torch.equal(out_first, out_second)
    reference = torch.autograd.functional.jacobian(fwd, x)[torch.arange(7), :, torch.arange(7)]
    assert torch.allclose(first, reference, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- CoxTime
def _coxtime_net(batch_norm: bool = False):
    from pycox.models.cox_time import MLPVanillaCoxTime

    torch.manual_seed(0)
    if batch_norm:  # pycox's defaults: ReLU, batch norm; dropout (inactive in eval mode)
        return MLPVanillaCoxTime(P, [8, 8], batch_norm=True, dropout=0.1).eval()
    return MLPVanillaCoxTime(P, [8, 8], batch_norm=False, dropout=0.0, activation=nn.Tanh)


class _TimeFirst(nn.Module):
    """CoxTime network whose first operation transforms the time: no split."""

    def __init__(self) -> None:
        super().__init__()
        self.body = _mlp(P + 1, 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([x, torch.log1p(t.abs())], dim=1))


N_JUMPS = 33
JUMPS = np.linspace(0.1, 3.3, N_JUMPS)
INCREMENTS = np.full(N_JUMPS, 0.03)
GRID = np.array([0.5, 1.5, 3.3])


def _coxtime(net, **kw):
    return captum_surv.from_module(
        net.to(DTYPE), "coxtime", baseline=(JUMPS, INCREMENTS), times=GRID, **kw
    )


def _no_split(monkeypatch):
    monkeypatch.setattr(coxtime, "first_layer_split", lambda net: None)
    monkeypatch.setattr(jacobian, "first_layer_split", lambda net: None)


class _SkipAfterFirst(nn.Module):
    """CoxTime network with a skip connection after its first layer: split, but the rest
    is not a chain (autograd differentiates it)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(9)
        self.first = nn.Linear(P + 1, 8)
        self.hidden = nn.Linear(8, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.first(torch.cat([x, t], dim=1)))
        return self.out(torch.tanh(self.hidden(h)) + h)


COXTIME_NETS = {
    "MLPVanillaCoxTime": _coxtime_net,
    "MLPVanillaCoxTime, batch norm": lambda: _coxtime_net(batch_norm=True),
    "skip connection": _SkipAfterFirst,
}


@pytest.mark.parametrize("pairs", [10**9, 1])  # all rows at once; one row per chunk
@pytest.mark.parametrize("output", ["survival", "hazard", "log_risk"])
@pytest.mark.parametrize("name", list(COXTIME_NETS))
def test_coxtime_split_first_layer_equals_stacked_rows(name, output, pairs, monkeypatch):
    monkeypatch.setattr(coxtime, "PAIRS_PER_CHUNK", pairs)
    net = COXTIME_NETS[name]()
    for module in net.modules():  # running statistics away from (0, 1), as after training
        if isinstance(module, nn.BatchNorm1d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    fwd = _coxtime(net, output=output)
    split = coxtime.first_layer_split(fwd.net)
    assert split is not None
    calls, chained = [], []
    first_layer = split.first_layer
    monkeypatch.setattr(split, "first_layer", lambda *a: calls.append(1) or first_layer(*a))
    original = jacobian.rest_jacobian

    def spy(*args):
        result = original(*args)
        chained.append(result is not None)
        return result

    monkeypatch.setattr(jacobian, "rest_jacobian", spy)
    x = _x(4)
    (fast,), fast_out = output_jacobian(fwd, (x,))
    with torch.no_grad():
        fast_forward = fwd(x)
    _no_split(monkeypatch)
    (plain,), plain_out = output_jacobian(fwd, (x,))
    with torch.no_grad():
        plain_forward = fwd(x)
    assert torch.allclose(fast_forward, plain_forward, rtol=1e-13, atol=1e-15)
    assert torch.allclose(fast_out, plain_out, rtol=1e-13, atol=1e-15)
    assert torch.allclose(fast, plain, rtol=1e-12, atol=1e-14)
    assert len(calls) == (2 if pairs > 1 else 8)  # Jacobian and forward, by rows if chunked
    # the rest after the first layer: matrix products where it is a chain, else autograd
    assert chained and set(chained) == {name != "skip connection"}


def test_hooks_on_inner_modules_fire_and_count(monkeypatch):
    """A hook on a layer inside the network (Captum's layer methods, DeepLift, a user's
    hook that changes the activations) must run and be honoured: the CoxTime split and
    the layer-by-layer route compute the first layers themselves, so they stand aside."""
    fwd = _coxtime(_coxtime_net())
    first = next(m for m in fwd.net.modules() if isinstance(m, nn.Linear))
    x = _x(3)
    calls = []

    def halve(module, args, out):
        calls.append(out.shape[0])
        return 0.5 * out

    handle = first.register_forward_hook(halve)
    try:
        with torch.no_grad():
            hooked = fwd(x)
        (jac,), _ = output_jacobian(fwd, (x,))
        reference = torch.autograd.functional.jacobian(fwd, x)[torch.arange(3), :, torch.arange(3)]
    finally:
        handle.remove()
    assert calls, "the hook on the first layer was skipped"
    assert torch.allclose(jac, reference, rtol=1e-10, atol=1e-13)
    _no_split(monkeypatch)
    handle = first.register_forward_hook(lambda module, args, out: 0.5 * out)
    try:
        with torch.no_grad():
            plain = fwd(x)
    finally:
        handle.remove()
    assert torch.allclose(hooked, plain, rtol=1e-13, atol=1e-15)
    with torch.no_grad():
        assert not torch.allclose(fwd(x), plain)  # the hook mattered

    monkeypatch.setattr(jacobian, "use_forward_mode", lambda f, k: True)
    discrete = _discrete("LogisticHazard")
    inner = next(m for m in discrete.net.modules() if isinstance(m, nn.Linear))
    handle = inner.register_forward_hook(lambda module, args, out: 2 * out)
    try:
        (jac,), _ = output_jacobian(discrete, (x,))
        reference = torch.autograd.functional.jacobian(discrete, x)
        reference = reference[torch.arange(3), :, torch.arange(3)]
    finally:
        handle.remove()
    assert torch.allclose(jac, reference, rtol=1e-10, atol=1e-13)


def test_coxtime_other_first_layer_is_not_split_and_exact():
    fwd = _coxtime(_TimeFirst())
    assert coxtime.first_layer_split(fwd.net) is None
    x = _x(3)
    (jac,), _ = output_jacobian(fwd, (x,))
    reference = torch.autograd.functional.jacobian(fwd, x)[torch.arange(3), :, torch.arange(3)]
    assert torch.allclose(jac, reference, rtol=1e-10, atol=1e-13)


def test_coxtime_knots_interpolate_g_and_shrink_the_error():
    fwd = _coxtime(_coxtime_net(), output="cumhazard")
    x = _x(4)
    net = fwd.net
    scaled = fwd.scaled_native.numpy()
    with torch.no_grad():
        exact = fwd(x)
        errors = []
        for knots in (2, 3, 5, 9, 17):
            approx = fwd.with_knots(knots)
            # reference: g at the knots by the network itself, numpy's linear interpolation
            index = np.round(np.linspace(0, N_JUMPS - 1, knots)).astype(int)
            g_knots = torch.stack(
                [net(x, torch.full((4, 1), scaled[i], dtype=DTYPE)).reshape(-1) for i in index], 1
            )
            g = np.stack([np.interp(scaled, scaled[index], row) for row in g_knots.numpy()])
            upto = np.searchsorted(JUMPS, GRID, side="right")
            cumhazard = np.cumsum(INCREMENTS * np.exp(g), axis=1)[:, upto - 1]
            np.testing.assert_allclose(approx(x).numpy(), cumhazard, rtol=1e-12)
            errors.append(float((approx(x) - exact).abs().max()))
        assert all(a > b for a, b in zip(errors, errors[1:], strict=False)), errors
        for knots in (N_JUMPS, N_JUMPS + 5, None):
            same = fwd.with_knots(knots)
            assert not same.is_approximate
            assert torch.equal(same(x), exact)
    approx = fwd.with_knots(5)
    (jac,), _ = output_jacobian(approx, (x,))
    reference = torch.autograd.functional.jacobian(approx, x)[torch.arange(4), :, torch.arange(4)]
    assert torch.allclose(jac, reference, rtol=1e-10, atol=1e-13)
    conditional = approx.with_output("conditional_survival", condition_time=1.0)
    assert conditional.unconditional_forward.is_approximate


@pytest.mark.parametrize(
    "knots,error,match",
    [
        (1, ValueError, "too few"),
        (0, ValueError, "too few"),
        (2.5, TypeError, "int >= 2"),
        (True, TypeError, "int >= 2"),
        ("8", TypeError, "int >= 2"),
    ],
)
def test_bad_knots_get_clear_errors(knots, error, match):
    fwd = _coxtime(_coxtime_net())
    with pytest.raises(error, match=match):
        fwd.with_knots(knots)


def test_previous_engine_of_the_benchmark_gives_the_same_jacobians():
    """benchmarks/bench_engine.py times the previous engine: it must still run, and agree."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import bench_engine
    finally:
        sys.path.pop(0)
    x = _x(4)
    for fwd in (_discrete("DeepHit"), _coxtime(_coxtime_net())):
        (new,), new_out = output_jacobian(fwd, (x,))
        with bench_engine.previous_engine():
            assert coxtime.first_layer_split(fwd.net) is None
            (old,), old_out = output_jacobian(fwd, (x,))
        assert coxtime.first_layer_split(fwd.net) is not None or fwd.structure == "head"
        assert torch.allclose(new, old, rtol=1e-12, atol=1e-14)
        assert torch.allclose(new_out, old_out, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- weighted sums, fused layers
def _reference_sums(fwd, points, scales, owner):
    """Per owner, ``sum_p scales_p * J(z_p)`` with ``J`` from autograd, point by point."""
    jac = torch.stack(
        [torch.autograd.functional.jacobian(lambda r: fwd(r[None])[0], z) for z in points]
    )  # [P, T, p]
    weighted = jac * scales[:, None, :]
    owners = torch.unique_consecutive(owner)
    return owners, torch.stack([weighted[owner == o].sum(0) for o in owners])


@pytest.mark.parametrize("name", ["LogisticHazard", "PMF", "DeepHit"])
def test_weighted_sums_equal_autograd(name, monkeypatch):
    """Runs longer than a chunk (split in pieces), runs of unequal length packed together."""
    monkeypatch.setattr(jacobian, "HEAD_CHUNK_ROWS", 4)
    monkeypatch.setattr(jacobian, "use_forward_mode", lambda f, k: True)
    fwd = _discrete(name)
    points, scales = _x(13, seed=7), _x(13, seed=8)
    owner = torch.tensor([0, 0, 0, 0, 0, 0, 1, 2, 2, 3, 3, 3, 5])
    result = jacobian.weighted_jacobian_sums(fwd, (points,), (scales,), owner)
    assert result is not None
    owners, sums = result
    ref_owners, reference = _reference_sums(fwd, points, scales, owner)
    assert torch.equal(owners, ref_owners)
    assert sums[0].shape == reference.shape
    assert torch.allclose(sums[0], reference, rtol=1e-10, atol=1e-12)


class _Embedded(nn.Module):
    """Category codes through an embedding beside the floating features."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.embed = nn.Embedding(3, 2)
        self.body = nn.Sequential(nn.Linear(P + 2, 6), nn.ReLU(), nn.Linear(6, 4))

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([x, self.embed(code)], dim=1))


def test_weighted_sums_hold_integer_inputs_fixed():
    net = _Embedded().to(DTYPE)
    head = captum_surv.from_module(net, "discrete_hazard", cuts=np.linspace(0.0, 3.0, 4))
    x, code = _x(6), torch.tensor([0, 1, 2, 1, 0, 2])
    scales = _x(6, seed=3)
    owner = torch.tensor([0, 0, 1, 1, 1, 2])
    result = jacobian.weighted_jacobian_sums(head, (x, code), (scales, code), owner)
    assert result is not None
    owners, (sums, code_sums) = result
    jac = torch.stack(
        [
            torch.autograd.functional.jacobian(lambda r, c=c: head(r[None], c[None])[0], z)
            for z, c in zip(x, code, strict=True)
        ]
    )
    weighted = jac * scales[:, None, :]
    reference = torch.stack([weighted[owner == o].sum(0) for o in owners])
    assert torch.allclose(sums, reference, rtol=1e-10, atol=1e-12)
    assert code_sums.shape == (3, 4) and not code_sums.any()


def test_weighted_sums_decline_routes_they_do_not_cover():
    x = _x(4)
    owner = torch.arange(4)
    cox = captum_surv.from_module(
        _mlp(P, 1).to(DTYPE), "cox", baseline=(np.linspace(0.1, 1, 5), np.full(5, 0.1))
    )
    assert jacobian.weighted_jacobian_sums(cox, (x,), (x,), owner) is None  # low rank
    chain = _discrete("LogisticHazard")  # p = 4 < K = 6: forward mode; force reverse
    competing = _discrete("DeepHit")  # its network ends with a view: not a chain
    assert jacobian.weighted_jacobian_sums(competing, (x,), (x,), owner) is not None
    jacobian_use = jacobian.use_forward_mode
    try:
        jacobian.use_forward_mode = lambda f, k: False
        assert jacobian.weighted_jacobian_sums(chain, (x,), (x,), owner) is not None
        assert jacobian.weighted_jacobian_sums(competing, (x,), (x,), owner) is None
    finally:
        jacobian.use_forward_mode = jacobian_use


@given(
    runs=st.lists(st.integers(1, 30), min_size=1, max_size=12),
    limit=st.integers(1, 16),
)
@settings(max_examples=200, deadline=None)
def test_pieces_cover_runs_in_order_within_the_limit(runs, limit):
    chunks = jacobian._pieces(runs, limit)
    start = 0
    by_run: dict[int, list[int]] = {}
    for first, lengths, run_of in chunks:
        assert first == start and 0 < sum(lengths) <= limit
        assert len(lengths) == len(run_of)
        for length, run in zip(lengths, run_of, strict=True):
            by_run.setdefault(run, []).append(length)
        start += sum(lengths)
    assert start == sum(runs)
    assert sorted(by_run) == list(range(len(runs)))
    for run, length in enumerate(runs):  # a run's pieces depend only on its length
        q, r = divmod(length, limit)
        assert by_run[run] == [limit] * q + ([r] if r else [])


class _TwoUsers(nn.Module):
    """The first layer's output is read twice (an activation and a skip connection): its
    tangent must be neither fused away nor overwritten in place."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.first = nn.Linear(P, 6)
        self.second = nn.Linear(6, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.first(x)
        return self.out(self.second(torch.relu(h)) + h)


class _TwoInputs(nn.Module):
    """Two floating inputs, each with its own first layer (directions of one input are
    zero for the other's layer)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(6)
        self.left = nn.Sequential(nn.Linear(2, 5), nn.Sigmoid(), nn.Linear(5, 4))
        self.right = nn.Linear(3, 4)
        self.out = nn.Linear(8, 3)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.out(torch.cat([self.left(a), torch.tanh(self.right(b))], dim=1))


def _vanilla(batch_norm: bool, dropout: float | None) -> nn.Module:
    import torchtuples as tt

    torch.manual_seed(2)
    net = tt.practical.MLPVanilla(P, [7, 7], 3, batch_norm=batch_norm, dropout=dropout)
    if batch_norm:  # running statistics away from (0, 1), as after training
        for module in net.modules():
            if isinstance(module, nn.BatchNorm1d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
                module.weight.data.uniform_(0.5, 1.5)
    return net.eval()


NETWORKS = {
    "MLPVanilla batch norm + dropout": lambda: _vanilla(True, 0.1),
    "MLPVanilla plain": lambda: _vanilla(False, None),
    "linear-batchnorm-linear": lambda: nn.Sequential(
        nn.Linear(P, 5), nn.BatchNorm1d(5), nn.Linear(5, 3)
    ).eval(),
    "sigmoid, in-place relu": lambda: nn.Sequential(
        nn.Linear(P, 5), nn.Sigmoid(), nn.Linear(5, 5), nn.ReLU(inplace=True), nn.Linear(5, 3)
    ),
    "two readers": _TwoUsers,
}


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_fused_and_in_place_tangents_equal_jacfwd(name, scaled, monkeypatch):
    net = NETWORKS[name]().to(DTYPE)
    if name == "linear-batchnorm-linear":
        net[1].running_var.uniform_(0.5, 2)
    x = _x(7)
    scale = _x(7, seed=9) if scaled else None
    fused = []
    original = forward_mode._propagate_chain
    monkeypatch.setattr(
        forward_mode,
        "_propagate_chain",
        lambda node, fn, state: fused.append(node) or original(node, fn, state),
    )
    directions = jacobian._unit_directions((x,), [0], None if scale is None else (scale,))
    out, tangents = forward_mode.network_tangents(
        net, (x,), directions, unit=True, scales=None if scale is None else (scale,)
    )
    reference = torch.func.vmap(torch.func.jacfwd(lambda r: net(r[None])[0]))(x)  # [N, 3, P]
    if scale is not None:
        reference = reference * scale[:, None, :]
    with torch.no_grad():
        assert torch.equal(out, net(x))
    assert torch.allclose(tangents.movedim(1, -1), reference, rtol=1e-12, atol=1e-14)
    assert bool(fused) == (name != "two readers")


@pytest.mark.parametrize("scaled", [False, True])
def test_two_floating_inputs_get_their_own_directions(scaled):
    net = _TwoInputs().to(DTYPE)
    a, b = _x(5)[:, :2], _x(5, seed=2)[:, :3]
    scales = (_x(5, seed=4)[:, :2], _x(5, seed=5)[:, :3]) if scaled else None
    directions = jacobian._unit_directions((a, b), [0, 1], scales)
    _, tangents = forward_mode.network_tangents(net, (a, b), directions, unit=True, scales=scales)
    ref_a, ref_b = torch.func.vmap(
        torch.func.jacfwd(lambda u, v: net(u[None], v[None])[0], argnums=(0, 1))
    )(a, b)
    reference = torch.cat([ref_a, ref_b], dim=2)  # [N, 3, 5]
    if scales is not None:
        reference = reference * torch.cat(scales, dim=1)[:, None, :]
    assert torch.allclose(tangents.movedim(1, -1), reference, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- reverse chain
CHAINS = {
    **{k: v for k, v in NETWORKS.items() if k != "two readers"},
    "one linear": lambda: nn.Sequential(nn.Linear(P, 3)),
    "linear-linear, tanh output": lambda: nn.Sequential(
        nn.Linear(P, 5), nn.Linear(5, 3), nn.Tanh()
    ),
    "sigmoid input": lambda: nn.Sequential(
        nn.Sigmoid(), nn.Linear(P, 5), nn.ReLU(), nn.Linear(5, 3)
    ),
}


@pytest.mark.parametrize("name", list(CHAINS))
def test_chain_jacobian_equals_jacfwd(name):
    torch.manual_seed(8)
    net = CHAINS[name]().to(DTYPE)
    x = _x(9)
    out, jac = layer_chain.chain_jacobian(net, x)
    reference = torch.func.vmap(torch.func.jacfwd(lambda r: net(r[None])[0]))(x)  # [N, 3, P]
    with torch.no_grad():
        assert torch.allclose(out, net(x), rtol=1e-14, atol=1e-15)
    assert jac.shape == reference.shape
    assert torch.allclose(jac, reference, rtol=1e-12, atol=1e-14)


def test_networks_that_are_not_chains_are_refused():
    x = _x(3)
    for net in (_TwoUsers(), _Competing(), _Embedded()):
        assert not layer_chain.is_chain(net.to(DTYPE))
    with pytest.raises(forward_mode.Untraceable):
        layer_chain.chain_jacobian(_TwoUsers().to(DTYPE), x)
    training = nn.Sequential(nn.Linear(P, 5), nn.Dropout(0.5), nn.Linear(5, 2)).train()
    assert not layer_chain.is_chain(training)  # random in training mode: not a fixed map
    hooked = _mlp(P, 3).to(DTYPE)
    hooked[1].register_forward_hook(lambda module, args, out: 2 * out)
    with pytest.raises(forward_mode.Untraceable, match="hooks"):
        layer_chain.chain_jacobian(hooked, x)


@pytest.mark.parametrize("name", ["LogisticHazard", "PMF", "MTLR"])
def test_reverse_route_takes_the_chain_and_equals_captum(name, monkeypatch):
    """K <= p: the discrete head's reverse route multiplies the chain back (no autograd
    passes), for the Jacobian and for the weighted sums of IntGrad(t)."""
    monkeypatch.setattr(jacobian, "use_forward_mode", lambda f, k: False)
    calls = []
    original = jacobian.chain_jacobian
    monkeypatch.setattr(
        jacobian, "chain_jacobian", lambda net, x: calls.append(1) or original(net, x)
    )
    fwd = _discrete(name)
    x, base = _x(), torch.zeros(1, P, dtype=DTYPE)
    ours = explain(fwd, x, "intgrad", base, n_steps=8).attributions
    reference = _ig_loop(fwd, x, base)
    assert calls
    assert torch.allclose(ours, reference, rtol=1e-7, atol=1e-7 * reference.abs().max())
    calls.clear()
    (jac,), _ = output_jacobian(fwd, (x,))
    autograd = torch.autograd.functional.jacobian(fwd, x)[torch.arange(5), :, torch.arange(5)]
    assert calls and torch.allclose(jac, autograd, rtol=1e-10, atol=1e-12)


def _deephit_exact_tangent(raw_row, direction, output, event, k):
    """d output[k] along ``direction`` for one row, by a central difference in 60-digit
    arithmetic (mpmath): the joint softmax over risks x cuts plus the "survive" logit 0."""
    import mpmath as mp

    n_risks, n_cuts = raw_row.shape
    with mp.workdps(60):
        phi = [mp.mpf(float(v)) for v in raw_row.flatten()]
        step = [mp.mpf(float(v)) for v in direction.flatten()]

        def value(h):
            e = [mp.exp(a + h * b) for a, b in zip(phi, step, strict=True)]
            total = sum(e) + 1
            if output in ("survival", "cumhazard"):
                tail = sum(e[r * n_cuts + j] for r in range(n_risks) for j in range(k + 1, n_cuts))
                s = (tail + 1) / total
                return s if output == "survival" else -mp.log(s)
            first = event * n_cuts
            if output == "pmf":
                return e[first + k] / total
            return sum(e[first : first + k + 1]) / total

        h = mp.mpf("1e-25")
        return float((value(h) - value(-h)) / (2 * h))


@pytest.mark.parametrize(
    "output,event", [("survival", None), ("cumhazard", None), ("cif", 1), ("pmf", 0)]
)
def test_deephit_closed_form_tangents_are_exact(output, event):
    """Against 60-digit arithmetic, where survival ranges from near 1 to about 1e-8 (jvp
    through the head's float64 log-space operations is off by up to 3e-6 relative there;
    the closed form is within 1e-9 of the exact values, entry by entry)."""
    fwd = _discrete("DeepHit", output, event)
    raw = 6 * _x(5, seed=6)[:, :2, None] + torch.linspace(-6, 6, N_CUTS, dtype=DTYPE)
    directions = torch.randn(5, 3, 2, N_CUTS, generator=torch.Generator().manual_seed(7))
    directions = directions.to(DTYPE)
    out, tangents = fwd.output_tangents(raw, directions)  # rows first: [5, 3, T]
    exact = torch.tensor(
        [
            [
                [
                    _deephit_exact_tangent(raw[n], directions[n, d], output, event, k)
                    for k in range(N_CUTS)
                ]
                for d in range(3)
            ]
            for n in range(5)
        ],
        dtype=DTYPE,
    )
    assert torch.equal(out, fwd.output_from_network(raw))
    assert out.min() < 1e-6 if output == "survival" else True
    # 1e-8 relative per entry (some entries are differences of much larger terms)
    assert torch.allclose(tangents, exact, rtol=1e-8, atol=1e-14 * exact.abs().max())
    assert fwd.with_times(np.array([0.5, 1.7])).output_tangents(raw, directions) is None
    if output == "survival":
        assert fwd.with_output("hazard", event=0).output_tangents(raw, directions) is None
