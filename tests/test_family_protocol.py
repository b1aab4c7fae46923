"""The family protocol: the Jacobian engine works from what a forward is, not its class.

* every family's structured route equals the per-row Jacobian that torch.autograd computes
  for the whole forward (an independent reference), and equals the generic route;
* the low-rank route costs ``network_rank`` backward passes (1 for Cox, k for parametric);
* a new family is one class plus one registry entry (a Gompertz distribution, checked
  against scipy.stats), and runs through ``explain`` like the built-in ones;
* the engine modules name no concrete family class and no private member of a forward.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from scipy import stats
from torch import nn

import captum_surv
from captum_surv.attr.jacobian import low_rank_factors, output_jacobian
from captum_surv.models.module import KINDS, ModuleKind, _parametric
from captum_surv.models.parametric import ParametricForward

P = 3
CUTS = np.array([0.0, 0.5, 1.0, 2.0, 3.5])


def tiny(out_features: int, in_features: int = P, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(in_features, 5), nn.Tanh(), nn.Linear(5, out_features)).double()


class Competing(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = tiny(2 * len(CUTS))

    def forward(self, x):
        return self.mlp(x).view(x.shape[0], 2, len(CUTS))


class TimeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = tiny(1, P + 1)

    def forward(self, x, t):
        return self.mlp(torch.cat([x, t], dim=1))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.normal(size=(40, P)))
    return x, rng.exponential(2.0, size=40) + 0.05, (rng.uniform(size=40) < 0.7).astype(float)


def forwards(data):
    grid = [0.3, 0.9, 1.7, 3.0]
    yield captum_surv.from_module(tiny(1), "cox", data=data, times=grid)
    yield captum_surv.from_module(tiny(1), "cox", data=data, times=grid, output="hazard")
    yield captum_surv.from_module(TimeNet(), "coxtime", data=data, times=grid)
    yield captum_surv.from_module(TimeNet(), "coxtime", data=data, times=grid, output="log_risk")
    yield captum_surv.from_module(tiny(len(CUTS)), "discrete_hazard", cuts=CUTS)
    yield captum_surv.from_module(Competing(), "competing_pmf", cuts=CUTS, n_risks=2)
    for kind in ("weibull", "lognormal", "loglogistic"):
        yield captum_surv.from_module(tiny(2), kind, times=grid, output="density")
    yield captum_surv.from_module(tiny(1), "exponential", times=grid)


def autograd_reference(fwd, x):
    """Row n's Jacobian [T, P] from torch.autograd.functional.jacobian of the forward."""
    return torch.stack(
        [torch.autograd.functional.jacobian(fwd, x[n : n + 1])[0, :, 0] for n in range(len(x))]
    )


def test_every_route_equals_autograd(data):
    x = data[0][:3]
    for fwd in forwards(data):
        (jac,), out = output_jacobian(fwd, (x,))
        np.testing.assert_allclose(jac.numpy(), autograd_reference(fwd, x).numpy(), atol=1e-10)
        with torch.no_grad():
            np.testing.assert_allclose(out.numpy(), fwd(x).numpy(), atol=1e-12)
        fwd.structure = "network"  # hide the family: the generic route
        (generic,), _ = output_jacobian(fwd, (x,))
        np.testing.assert_allclose(jac.numpy(), generic.numpy(), atol=1e-10)


class _CountBackward:
    def __init__(self, module: nn.Module):
        self.calls = 0
        module.register_full_backward_hook(self._hook)

    def _hook(self, *args):
        self.calls += 1


@pytest.mark.parametrize(("kind", "width"), [("cox", 1), ("weibull", 2), ("lognormal", 2)])
def test_low_rank_route_costs_rank_backward_passes(kind, width, data):
    options = {"data": data} if kind == "cox" else {"times": np.linspace(0.2, 4.0, 30)}
    fwd = captum_surv.from_module(tiny(width), kind, **options)
    assert fwd.network_rank == width
    counter = _CountBackward(fwd.net[0])
    x = data[0][:7]
    time_factors, (features,), outputs = low_rank_factors(fwd, (x,))
    assert fwd.n_times > 20
    assert counter.calls == width  # one backward pass per network output, for all times
    assert time_factors.shape == (7, fwd.n_times, width) and features.shape == (7, width, P)
    (jac,), _ = output_jacobian(fwd, (x,))
    assert counter.calls == 2 * width
    np.testing.assert_allclose(jac.numpy(), autograd_reference(fwd, x).numpy(), atol=1e-10)


# --------------------------------------------------------------------------- a new family
class GompertzForward(ParametricForward):
    """Gompertz: ``H(t) = (b / a) (exp(a t) - 1)``; columns log a, log b."""

    model_name = "Gompertz model"
    param_names = ("log_a", "log_b")

    def cumhazard_from_params(self, params, log_t):
        log_a, log_b = params[:, :1], params[:, 1:2]
        a_t = torch.exp(log_a + log_t)
        return torch.exp(log_b - log_a) * torch.expm1(a_t)

    def log_hazard_rate_from_params(self, params, log_t):
        return params[:, 1:2] + torch.exp(params[:, :1] + log_t)


@pytest.fixture
def gompertz(monkeypatch):
    entry = ModuleKind("net(x) -> [batch, 2]: log a, log b", _parametric(GompertzForward))
    monkeypatch.setitem(KINDS, "gompertz", entry)
    return entry


def test_new_family_is_one_class_and_one_entry(gompertz):
    grid = np.array([0.2, 0.7, 1.5, 3.0])
    net = tiny(2, seed=3)
    x = torch.as_tensor(np.random.default_rng(1).normal(size=(6, P)))
    fwd = captum_surv.from_module(net, "gompertz", times=grid)
    with torch.no_grad():
        a, b = torch.exp(net(x)).numpy().T
    dist = stats.gompertz(c=(b / a)[:, None], scale=(1 / a)[:, None])
    with torch.no_grad():
        np.testing.assert_allclose(fwd(x).numpy(), dist.sf(grid), atol=1e-10)
        rate = fwd.with_output("hazard_rate")(x).numpy()
    np.testing.assert_allclose(rate, dist.pdf(grid) / dist.sf(grid), rtol=1e-8)
    # the engine takes the low-rank route for it and equals Captum's loop over targets
    ig = IntegratedGradients(fwd)
    base = torch.zeros(1, P, dtype=torch.float64)
    loop = torch.stack([ig.attribute(x, base, target=k, n_steps=16) for k in range(len(grid))], 1)
    expl = captum_surv.explain(fwd, x, "intgrad", base, n_steps=16)
    np.testing.assert_allclose(expl.attributions.numpy(), loop.numpy(), atol=1e-10)


# --------------------------------------------------------------------------- dispatch
FAMILY_CLASSES = {
    "CoxForward",
    "CoxCCForward",
    "CoxTimeForward",
    "DiscreteForward",
    "DeepHitForward",
    "ParametricForward",
    "WeibullForward",
    "LogisticHazardForward",
    "PMFForward",
}


@pytest.mark.parametrize(
    "module",
    [
        "jacobian.py",
        "methods.py",
        "explain.py",
        "interactions.py",
        "time_attribution.py",
        "survshap.py",
        "survlime.py",
    ],
)
def test_engine_names_no_family_class_nor_private_member(module):
    source = (Path(captum_surv.__file__).parent / "attr" / module).read_text()
    assert "isinstance(forward, " not in source.replace("isinstance(forward, SurvivalForward)", "")
    tree = ast.parse(source)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not names & FAMILY_CLASSES
    private = [
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and n.attr.startswith("_")
        and (
            (isinstance(n.value, ast.Name) and n.value.id in ("forward", "fwd", "forward_fn"))
            or (isinstance(n.value, ast.Attribute) and n.value.attr == "forward")
        )
    ]
    assert not private, private


def test_parametric_benchmark_runs_tiny():
    """benchmarks/bench_parametric.py on a tiny configuration, so it cannot rot."""
    import sys

    bench_dir = str(Path(__file__).resolve().parents[1] / "benchmarks")
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    import bench_parametric

    threads = torch.get_num_threads()
    try:
        row = bench_parametric.run(batch=3, p=4, n_times=6, n_steps=8, repeats=1, hidden=5)
    finally:
        torch.set_num_threads(threads)
    assert row["max rel diff to loop"] < 1e-5
    assert row["IntGrad(t) s"] > 0 and row["loop s"] > 0


def test_low_rank_route_with_an_unused_input():
    """A two-input network that ignores its second input: zero Jacobian for it."""

    class FirstOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = tiny(2)

        def forward(self, a, b):
            return self.mlp(a)

    fwd = captum_surv.from_module(FirstOnly(), "weibull", times=[0.5, 1.0, 2.0, 4.0])
    x = torch.as_tensor(np.random.default_rng(2).normal(size=(3, P)))
    (ja, jb), _ = output_jacobian(fwd, (x, x.clone()))
    assert torch.equal(jb, torch.zeros_like(jb))
    reference = torch.stack(
        [
            torch.autograd.functional.jacobian(lambda r: fwd(r, x[:1]), x[n : n + 1])[0, :, 0]
            for n in range(3)
        ]
    )
    np.testing.assert_allclose(ja.numpy(), reference.numpy(), atol=1e-10)


@pytest.mark.parametrize("kind", ["exponential", "weibull"])
def test_interactions_of_parametric_forwards_equal_autograd(kind):
    """explain(..., "hessian") on the rank-1 (exponential) and rank-2 (Weibull) heads."""
    width = {"exponential": 1, "weibull": 2}[kind]
    fwd = captum_surv.from_module(tiny(width, seed=4), kind, times=[0.4, 1.1, 2.5])
    x = torch.as_tensor(np.random.default_rng(6).normal(size=(3, P)))
    inter = captum_surv.explain(fwd, x, "hessian")
    for n in range(3):
        for k in range(fwd.n_times):
            ref = torch.autograd.functional.hessian(lambda z, k=k: fwd(z[None])[0, k], x[n])
            np.testing.assert_allclose(
                inter.interactions[n, k].numpy(), ref.numpy(), atol=1e-10, err_msg=f"{n},{k}"
            )
