"""Property-based tests: invariants of the attribution engine on randomly drawn models.

Every example draws a network architecture (MLP, Conv1d, Conv2d, LSTM, GRU,
multi-head attention, an embedding of integer codes, or a tuple of two of them), a
pycox model family built around it (baselines fitted on tiny simulated data, some
models trained for one epoch), an output, a time grid (native, an integer count or
arbitrary times), an input dtype and batch sizes, and checks an invariant that must
hold for every model a user can bring:

1. ``explain(...)`` equals a per-time-point loop of plain autograd or of Captum (float64);
2. ``batch_size`` and the other rows of the batch never change a row's result;
3. float32 and float64 inputs agree to float32 precision where the output is well
   conditioned;
4. the user's model is unchanged (weights, train/eval mode, ``requires_grad``, ``.grad``);
5. the same seed reproduces SG(t), GradSHAP(t) and Captum's random methods exactly,
   whatever the global RNG state;
6. the forward reproduces pycox's own predictions on the native grid.

Failures the properties found are kept as plain regression tests at the end.

Budgets: the default profile ``ci`` runs a few examples per property, derandomized so
that every run of the suite checks the same examples; ``HYPOTHESIS_PROFILE=thorough``
runs 10 times as many, freshly random (see CONTRIBUTING.md).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import pytest
import torch
from _reference import CoxReference, discrete_native
from captum.attr import (
    DeepLift,
    GradientShap,
    InputXGradient,
    IntegratedGradients,
    NoiseTunnel,
    Saliency,
)
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from test_safety import assert_same, snapshot
from torch import nn

import captum_surv
from tests import zoo
from tests.zoo import OUTPUTS, Case, get_case, simulate

# ----------------------------------------------------------------------------- budgets
_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
    # no "explain" phase: it reruns a failing example hundreds of times (minutes)
    "phases": (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
}
settings.register_profile("ci", max_examples=1, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=10, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "thorough"):
    raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r}: use 'ci' (default) or 'thorough'.")
_BASE = settings.get_profile(PROFILE)


def budget(n_ci: int) -> settings:
    """``n_ci`` examples in the ci profile, 10 times as many in the thorough profile."""
    return settings(_BASE, max_examples=n_ci * _BASE.max_examples)


FAMILIES = tuple(zoo.FAMILIES)  # every pycox family the package wraps
FLOAT_ENCODERS = ("mlp", "conv1d", "conv2d", "lstm", "gru", "attention")
ACTIVATIONS = {"tanh": nn.Tanh, "softplus": nn.Softplus, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
N_DATA = 40  # rows of simulated data for baselines and one training epoch

# Known open defects the strategies avoid, each with a strict-xfail reproducer below; remove
# an entry when its fix lands. None is open.
PENDING: set[str] = set()


# ----------------------------------------------------------------------------- networks
@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One network input: an encoder kind and the per-instance shape it takes."""

    kind: str
    shape: tuple[int, ...]
    vocab: int = 0  # embedding: number of codes
    heads: int = 1  # attention: number of heads

    @property
    def is_integer(self) -> bool:
        return self.kind == "embedding"

    def draw_rows(self, n: int, rng: np.random.Generator, dtype: torch.dtype) -> torch.Tensor:
        if self.is_integer:
            return torch.as_tensor(rng.integers(0, self.vocab, size=(n, *self.shape)))
        return torch.as_tensor(rng.normal(size=(n, *self.shape)), dtype=dtype)


class Encoder(nn.Module):
    """Maps one input tensor ``[B, *shape]`` to features ``[B, hidden]``."""

    def __init__(self, spec: InputSpec, hidden: int, activation: type[nn.Module]) -> None:
        super().__init__()
        self.kind = spec.kind
        if spec.kind == "mlp":
            self.layer = nn.Linear(spec.shape[0], hidden)
        elif spec.kind == "conv1d":
            self.layer = nn.Conv1d(spec.shape[0], hidden, kernel_size=2)
        elif spec.kind == "conv2d":
            self.layer = nn.Conv2d(spec.shape[0], hidden, kernel_size=2)
        elif spec.kind in ("lstm", "gru"):
            cls = nn.LSTM if spec.kind == "lstm" else nn.GRU
            self.layer = cls(spec.shape[1], hidden, batch_first=True)
        elif spec.kind == "attention":
            self.layer = nn.MultiheadAttention(spec.shape[1], spec.heads, batch_first=True)
            self.proj = nn.Linear(spec.shape[1], hidden)
        elif spec.kind == "embedding":
            self.layer = nn.Embedding(spec.vocab, 2)
            self.proj = nn.Linear(2 * spec.shape[0], hidden)
        else:  # pragma: no cover - strategies draw only the kinds above
            raise ValueError(spec.kind)
        self.act = activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "mlp":
            h = self.layer(x)
        elif self.kind == "conv1d":
            h = self.layer(x).mean(dim=-1)
        elif self.kind == "conv2d":
            h = self.layer(x).mean(dim=(-2, -1))
        elif self.kind in ("lstm", "gru"):
            h = self.layer(x)[0][:, -1]
        elif self.kind == "attention":
            h = self.proj(self.layer(x, x, x, need_weights=False)[0].mean(dim=1))
        else:
            h = self.proj(self.layer(x).flatten(1))
        return self.act(h)


class SurvNet(nn.Module):
    """Encoders, concatenation, optional BatchNorm/Dropout, a linear head.

    ``time_input``: CoxTime's g(x, t), with t mixed in nonlinearly.
    ``out_shape``: reshape of the head's output (DeepHit: ``(n_risks, n_cuts)``).
    """

    def __init__(
        self,
        specs: tuple[InputSpec, ...],
        hidden: int,
        activation: type[nn.Module],
        out_features: int,
        *,
        batch_norm: bool,
        dropout: float,
        time_input: bool = False,
        out_shape: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__()
        self.encoders = nn.ModuleList(Encoder(s, hidden, activation) for s in specs)
        width = hidden * len(specs)
        self.norm = nn.BatchNorm1d(width) if batch_norm else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.mix = nn.Sequential(nn.Linear(width + 1, width), activation()) if time_input else None
        self.head = nn.Linear(width, out_features)
        self.out_shape = out_shape

    def body(self, xs: tuple[torch.Tensor, ...], t: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.cat([enc(x) for enc, x in zip(self.encoders, xs, strict=True)], dim=1)
        h = self.dropout(self.norm(h))
        if self.mix is not None:
            h = self.mix(torch.cat([h, t], dim=1))
        out = self.head(h)
        return out if self.out_shape is None else out.view(out.shape[0], *self.out_shape)


# pycox and captum_surv count a network's inputs from its forward signature when the
# model was never fitted, so each arity has its own explicit signature.
class Net1(SurvNet):
    def forward(self, x):
        return self.body((x,))


class Net2(SurvNet):
    def forward(self, x_a, x_b):
        return self.body((x_a, x_b))


class TimeNet1(SurvNet):
    def forward(self, x, t):
        return self.body((x,), t)


class TimeNet2(SurvNet):
    def forward(self, x_a, x_b, t):
        return self.body((x_a, x_b), t)


# ----------------------------------------------------------------------------- scenarios
@dataclasses.dataclass
class Scenario:
    """A pycox model around a random network, and rows to explain."""

    family: str
    specs: tuple[InputSpec, ...]
    model: Any
    n_risks: int
    data_seed: int
    description: str

    def rows(self, n: int, seed: int, dtype: torch.dtype = torch.float64) -> tuple:
        rng = np.random.default_rng([self.data_seed, seed])
        return tuple(s.draw_rows(n, rng, dtype) for s in self.specs)

    def reference_rows(self, n: int, seed: int, dtype: torch.dtype = torch.float64) -> tuple:
        """Baselines/reference data: ``n`` rows, None for integer inputs (held fixed)."""
        rows = self.rows(n, seed, dtype)
        return tuple(None if s.is_integer else r for s, r in zip(self.specs, rows, strict=True))

    @property
    def integer_positions(self) -> tuple[int, ...]:
        return tuple(i for i, s in enumerate(self.specs) if s.is_integer)


@st.composite
def input_specs(draw, kind: str) -> InputSpec:
    if kind == "mlp":
        return InputSpec(kind, (draw(st.integers(1, 5)),))
    if kind == "conv1d":
        return InputSpec(kind, (draw(st.integers(1, 2)), draw(st.integers(2, 4))))
    if kind == "conv2d":
        return InputSpec(kind, (draw(st.integers(1, 2)), draw(st.integers(2, 3)), 3))
    if kind in ("lstm", "gru"):
        return InputSpec(kind, (draw(st.integers(1, 3)), draw(st.integers(1, 3))))
    if kind == "attention":
        heads = draw(st.sampled_from((1, 2)))
        return InputSpec(kind, (draw(st.integers(1, 3)), 2 * heads), heads=heads)
    return InputSpec(kind, (draw(st.integers(1, 3)),), vocab=draw(st.integers(2, 5)))


@st.composite
def architectures(draw, float_kinds=FLOAT_ENCODERS, integers: bool = True):
    """One float input, two float inputs, or integer codes plus a float input."""
    shape = draw(st.sampled_from(("single", "tuple", "codes") if integers else ("single", "tuple")))
    first = draw(input_specs(draw(st.sampled_from(float_kinds))))
    if shape == "single":
        return (first,)
    kind = "embedding" if shape == "codes" else draw(st.sampled_from(float_kinds))
    second = draw(input_specs(kind))
    return (first, second) if draw(st.booleans()) else (second, first)


def _simulated(specs, seed: int, competing: bool):
    """Inputs for the architecture, with durations/events of the zoo's simulation.

    Sorted by duration (pycox's CoxTime baselines want sorted data).
    """
    _, durations, events = simulate(N_DATA, seed, competing=competing)
    order = np.argsort(durations, kind="stable")
    rng = np.random.default_rng(seed)
    data = tuple(s.draw_rows(N_DATA, rng, torch.float32).numpy() for s in specs)
    return (data if len(data) > 1 else data[0]), durations[order], events[order]


def _fit(model, inputs, target) -> None:
    # one full batch: pycox's Cox losses are NaN on a batch without events (training diverges)
    model.fit(inputs, target, batch_size=N_DATA, epochs=1, verbose=False)


def build_model(
    family: str,
    specs,
    *,
    hidden,
    activation,
    batch_norm,
    dropout,
    n_cuts,
    n_risks,
    sub,
    train,
    seed,
    baseline_data="training",
) -> Any:
    """A pycox model of ``family`` around a random network; baselines on simulated data.

    ``baseline_data="other"``: Cox baselines on other data than the training data (as
    pycox allows, e.g. a validation set).
    """
    torch.manual_seed(seed)
    inputs, durations, events = _simulated(specs, seed, family == "DeepHit")
    base_inputs, base_durations, base_events = (
        (inputs, durations, events)
        if baseline_data == "training"
        else _simulated(specs, seed + 1, family == "DeepHit")
    )
    entry = zoo.FAMILIES[family]
    labtrans = entry.label_transform(n_cuts) if entry.label_transform else None
    target = entry.target(labtrans, durations, np.minimum(events, n_risks))
    n_out = entry.out_features(labtrans)
    arity = len(specs)
    kw = {"batch_norm": batch_norm, "dropout": dropout}
    if entry.kind == "coxtime":
        net = (TimeNet1 if arity == 1 else TimeNet2)(
            specs, hidden, activation, 1, time_input=True, **kw
        )
    elif entry.kind == "deephit":
        kw["out_shape"] = (n_risks, n_out)
        net = (Net1 if arity == 1 else Net2)(specs, hidden, activation, n_risks * n_out, **kw)
    else:
        net = (Net1 if arity == 1 else Net2)(specs, hidden, activation, n_out, **kw)
    model = entry.make(net, torch.optim.Adam(net.parameters(), lr=0.01), labtrans, sub)
    # DeepHit always trains: captum_surv reads the number of risks from fit_info
    if entry.kind == "deephit" or (train and (entry.kind != "coxtime" or arity == 1)):
        _fit(model, inputs, target)
    if entry.kind == "cox":
        model.compute_baseline_hazards(base_inputs, (base_durations, base_events.astype("f4")))
    elif entry.kind == "coxtime":
        model.compute_baseline_hazards(
            base_inputs, labtrans.transform(base_durations, base_events.astype("f4"))
        )
    return model


@st.composite
def scenarios(draw, families=FAMILIES, float_kinds=FLOAT_ENCODERS, integers: bool = True):
    family = draw(st.sampled_from(families))
    integers = integers and "integer_inputs" not in PENDING
    if "forward_ad" in PENDING and family not in ("CoxPH", "CoxCC", "CoxTime"):
        float_kinds = tuple(k for k in float_kinds if k not in ("lstm", "gru", "attention"))
    specs = draw(architectures(float_kinds, integers))
    params = {
        "hidden": draw(st.integers(2, 5)),
        "activation": ACTIVATIONS[draw(st.sampled_from(sorted(ACTIVATIONS)))],
        "batch_norm": draw(st.booleans()),
        "dropout": draw(st.sampled_from((0.0, 0.3))),
        "n_cuts": draw(st.integers(3, 8)),
        "n_risks": draw(st.integers(1, 3)) if family == "DeepHit" else 1,
        "sub": draw(st.integers(1, 3)) if family == "PCHazard" else 1,
        "train": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }
    if family in ("CoxPH", "CoxCC", "CoxTime") and "coxtime_other_data" not in PENDING:
        params["baseline_data"] = draw(st.sampled_from(("training", "other")))
    model = build_model(family, specs, **params)
    description = f"{family} {[dataclasses.astuple(s) for s in specs]} {params}"
    note(description)
    event(f"family={family}")
    event(f"inputs={'+'.join(s.kind for s in specs)}")
    return Scenario(family, specs, model, params["n_risks"], params["seed"], description)


@st.composite
def forwards(draw, scenario: Scenario, outputs=None):
    """``from_pycox`` of the scenario with a drawn output, event, time grid, interpolation."""
    names = OUTPUTS[scenario.family] if outputs is None else outputs
    output = draw(st.sampled_from([o for o in OUTPUTS[scenario.family] if o in names]))
    cause = None
    if scenario.family == "DeepHit" and output in ("cif", "pmf", "hazard"):
        cause = draw(st.integers(0, scenario.n_risks - 1))
    native_fwd = captum_surv.from_pycox(scenario.model, output, event=cause)
    native = native_fwd.native_times.numpy()
    interpolation = draw(st.sampled_from(type(native_fwd).interpolations))
    grid = draw(st.sampled_from(("native", "count", "times")))
    if grid == "native":
        times = None
    elif grid == "count":
        times = draw(st.integers(1, len(native)))
    else:
        picks = draw(st.lists(st.integers(0, len(native) - 1), max_size=3))
        fractions = draw(st.lists(st.floats(0.0, 1.0), min_size=1 if not picks else 0, max_size=4))
        times = np.unique(np.concatenate([native[picks], np.asarray(fractions) * native[-1]]))
    note(f"output={output} event={cause} times={times!r} interpolation={interpolation}")
    event(f"output={output}")
    event(f"grid={grid}")
    return captum_surv.from_pycox(
        scenario.model, output, times=times, event=cause, interpolation=interpolation
    )


# ----------------------------------------------------------------------------- methods
GRADIENT_METHODS = ("grad", "gxi", "intgrad", "gradshap", "smoothgrad")
CAPTUM_LOOP_METHODS = (Saliency, InputXGradient, IntegratedGradients)


def method_name(method) -> str:
    return method if isinstance(method, str) else method.__name__


@st.composite
def method_calls(draw, scenario: Scenario, xs: tuple, methods, *, random_gradshap=True):
    """A method and the keyword arguments of ``explain`` for it (baselines, options)."""
    if scenario.integer_positions and "deeplift_integers" in PENDING:
        methods = [m for m in methods if m is not DeepLift]
    method = draw(st.sampled_from(methods))
    kwargs: dict[str, Any] = {}
    name = method_name(method)
    if name in ("intgrad", "IntegratedGradients"):
        kwargs["n_steps"] = draw(st.integers(1, 6))
        if draw(st.booleans()):  # else the default zero baseline
            kwargs["baselines"] = _baseline_rows(scenario, xs, draw(st.sampled_from((1, "B"))))
    elif name == "gradshap":
        kwargs["baselines"] = scenario.reference_rows(draw(st.integers(1, 3)), seed=2)
        samplings = ("random", "gausslegendre") if random_gradshap else ("gausslegendre",)
        sampling = draw(st.sampled_from(samplings))
        kwargs["sampling"] = sampling
        if sampling == "random":
            kwargs["n_samples"] = draw(st.integers(1, 5))
        else:
            kwargs["n_steps"] = draw(st.integers(1, 4))
    elif name == "smoothgrad":
        kwargs["n_samples"] = draw(st.integers(1, 4))
        kwargs["reference"] = scenario.reference_rows(6, seed=3)
    event(f"method={name}")
    options = {k: v for k, v in kwargs.items() if k not in ("baselines", "reference")}
    note(f"method={name} options={options}")
    return method, kwargs


def _baseline_rows(scenario: Scenario, xs: tuple, rows) -> tuple:
    n = xs[0].shape[0] if rows == "B" else rows
    return scenario.reference_rows(n, seed=4)


def _as_input(xs: tuple):
    return xs if len(xs) > 1 else xs[0]


def _attributions(expl) -> tuple[torch.Tensor, ...]:
    a = expl.attributions
    return tuple(a) if isinstance(a, (tuple, list)) else (a,)


def run_explain(fwd, xs: tuple, method, kwargs: dict, **extra):
    kw = dict(kwargs)
    baselines = kw.pop("baselines", None)
    if isinstance(baselines, tuple):
        baselines = _as_input(baselines)
    return captum_surv.explain(fwd, _as_input(xs), method, baselines, **kw, **extra)


# ----------------------------------------------------------------------------- references
def reference_loop(fwd, xs: tuple, integer_positions, method, kwargs) -> list[torch.Tensor | None]:
    """Attributions ``[B, T, *S]`` per input by a loop over time points (None: integer input).

    Plain autograd for Grad(t)/GxI(t); Captum's own algorithm with ``target=k`` for the
    rest. Integer inputs are passed to Captum as additional forward arguments (held fixed).
    """
    name = method_name(method)
    floating = [i for i in range(len(xs)) if i not in integer_positions]
    fixed = tuple(xs[i] for i in integer_positions)

    def f(*args):
        full: list = [None] * len(xs)
        for i, a in zip(floating, args[: len(floating)], strict=True):
            full[i] = a
        for i, a in zip(integer_positions, args[len(floating) :], strict=True):
            full[i] = a
        return fwd(*full)

    floats = tuple(xs[i] for i in floating)
    extra = fixed if fixed else None
    with torch.enable_grad():
        probe = f(*(x.clone().requires_grad_(True) for x in floats), *fixed)
    if not probe.requires_grad:  # e.g. CoxTime at times before its first event: constant
        zeros = [torch.zeros((x.shape[0], fwd.n_times, *x.shape[1:]), dtype=x.dtype) for x in xs]
        return [None if i in integer_positions else z for i, z in enumerate(zeros)]
    baselines = kwargs.get("baselines")
    base_f = None if baselines is None else tuple(baselines[i] for i in floating)
    columns = []
    for k in range(fwd.n_times):
        if name in ("grad", "gxi"):
            leaves = tuple(x.clone().requires_grad_(True) for x in floats)
            grads = torch.autograd.grad(f(*leaves, *fixed)[:, k].sum(), leaves)
            if name == "gxi":
                grads = tuple(g * x for g, x in zip(grads, floats, strict=True))
            col = grads
        elif name in ("intgrad", "IntegratedGradients"):
            col = IntegratedGradients(f).attribute(
                floats,
                baselines=base_f,
                target=k,
                n_steps=kwargs["n_steps"],
                method="gausslegendre",
                additional_forward_args=extra,
            )
        elif name == "gradshap":  # Gauss-Legendre sampling: IG from every reference row, averaged
            refs = base_f
            parts = [
                IntegratedGradients(f).attribute(
                    floats,
                    baselines=tuple(r[m : m + 1] for r in refs),
                    target=k,
                    n_steps=kwargs["n_steps"],
                    method="gausslegendre",
                    additional_forward_args=extra,
                )
                for m in range(refs[0].shape[0])
            ]
            col = tuple(torch.stack(p).mean(dim=0) for p in zip(*parts, strict=True))
        elif name == "Saliency":
            col = Saliency(f).attribute(floats, target=k, additional_forward_args=extra)
        elif name == "InputXGradient":
            col = InputXGradient(f).attribute(floats, target=k, additional_forward_args=extra)
        else:  # pragma: no cover
            raise ValueError(name)
        columns.append(col)
    result: list[torch.Tensor | None] = [None] * len(xs)
    for j, i in enumerate(floating):
        result[i] = torch.stack([c[j].detach() for c in columns], dim=1)
    return result


def assert_close(actual, expected, rtol: float, what: str = "") -> None:
    """Elementwise ``|a - e| <= rtol * (|e| + max|e|)``: relative to the array's scale."""
    a = np.asarray(actual.detach().double() if isinstance(actual, torch.Tensor) else actual)
    e = np.asarray(expected.detach().double() if isinstance(expected, torch.Tensor) else expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    scale = float(np.abs(e).max(initial=0.0))
    np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * scale + 1e-300, err_msg=what)


# ----------------------------------------------------------------------------- properties
@pytest.mark.parametrize("family", FAMILIES)  # every family in every run
@budget(3)
@given(data=st.data())
def test_explain_equals_a_loop_over_time_points(family, data):
    """Invariant 1: the all-times engine equals a per-time-point autograd/Captum loop."""
    scenario = data.draw(scenarios(families=(family,)), label="scenario")
    fwd = data.draw(forwards(scenario), label="forward")
    xs = scenario.rows(data.draw(st.integers(1, 3), label="rows"), seed=1)
    method, kwargs = data.draw(
        method_calls(
            scenario,
            xs,
            ("grad", "gxi", "intgrad", "gradshap", *CAPTUM_LOOP_METHODS),
            random_gradshap=False,
        ),
        label="method",
    )
    expl = run_explain(fwd, xs, method, kwargs)
    got = _attributions(expl)
    expected = reference_loop(fwd, xs, scenario.integer_positions, method, kwargs)
    for i, (a, e) in enumerate(zip(got, expected, strict=True)):
        if e is None:  # integer codes: held fixed, zero attribution
            assert a.is_floating_point() and torch.all(a == 0), "integer input attributed"
        else:
            assert_close(a, e, 1e-7, f"input {i}")
    with torch.no_grad():
        assert_close(expl.prediction, fwd(*xs), 1e-12, "prediction")


@budget(30)
@given(data=st.data())
def test_batch_size_and_batch_neighbours_do_not_change_results(data):
    """Invariant 2: chunking (``batch_size``) and the other rows never change a row's result."""
    scenario = data.draw(scenarios(), label="scenario")
    fwd = data.draw(forwards(scenario), label="forward")
    dtype = data.draw(st.sampled_from((torch.float32, torch.float64)), label="dtype")
    n = data.draw(st.integers(1, 4), label="rows")
    xs = scenario.rows(n, seed=1, dtype=dtype)
    methods = (*GRADIENT_METHODS, IntegratedGradients, Saliency)
    method, kwargs = data.draw(method_calls(scenario, xs, methods), label="method")
    kwargs = {k: _cast(v, dtype) for k, v in kwargs.items()}
    batch_size = data.draw(st.integers(1, 9), label="batch_size")
    rtol = 1e-10 if dtype == torch.float64 else 2e-5
    whole = run_explain(fwd, xs, method, kwargs, seed=5)
    chunked = run_explain(fwd, xs, method, kwargs, seed=5, batch_size=batch_size)
    for i, (a, e) in enumerate(zip(_attributions(chunked), _attributions(whole), strict=True)):
        assert_close(a, e, rtol, f"batch_size={batch_size}, input {i}")
    deterministic = method_name(method) not in ("smoothgrad", "gradshap") or (
        kwargs.get("sampling") == "gausslegendre"
    )
    # SG(t) draws each instance's noise in turn from the seed: the first row's noise (and its
    # scale, taken from reference data) does not depend on the rest of the batch
    if (deterministic or method == "smoothgrad") and n > 1:
        row = 0 if method == "smoothgrad" else data.draw(st.integers(0, n - 1), label="row")
        one = tuple(x[row : row + 1] for x in xs)
        kw1 = dict(kwargs)
        base = kw1.get("baselines")
        per_instance = method_name(method) in ("intgrad", "IntegratedGradients")
        if per_instance and base is not None and _n_rows(base) == n:
            kw1["baselines"] = tuple(None if b is None else b[row : row + 1] for b in base)
        alone = run_explain(fwd, one, method, kw1, seed=5)
        for i, (a, e) in enumerate(zip(_attributions(alone), _attributions(whole), strict=True)):
            assert_close(a[0], e[row], rtol, f"row {row} alone, input {i}")


def _n_rows(values: tuple) -> int:
    return max(v.shape[0] for v in values if v is not None)


def _cast(value, dtype):
    if isinstance(value, tuple):
        return tuple(v.to(dtype) if v is not None and v.is_floating_point() else v for v in value)
    return value


FLOAT32_METHODS = ("grad", "gxi", "intgrad", "gradshap", Saliency, IntegratedGradients)
HOOK_METHODS = (DeepLift,)  # Captum methods that rely on module hooks (TimeAttribution's)
MIN_SURVIVAL = 1e-3  # below it, cumhazard/hazard/pmf/cif lose float32 digits in any formula


@budget(30)
@given(data=st.data())
def test_float32_and_float64_agree_where_well_conditioned(data):
    """Invariant 3: float32 inputs give the float64 result to float32 precision.

    Compared on time points where survival stays above ``MIN_SURVIVAL`` at the inputs,
    baselines and the straight paths between them (elsewhere a float32 survival model is
    ill-conditioned whatever the implementation).
    """
    hooks = () if "float64_hooks" in PENDING else HOOK_METHODS
    scenario = data.draw(scenarios(), label="scenario")
    fwd = data.draw(forwards(scenario), label="forward")
    xs = scenario.rows(data.draw(st.integers(1, 3), label="rows"), seed=1)
    method, kwargs = data.draw(
        method_calls(scenario, xs, FLOAT32_METHODS + hooks, random_gradshap=False),
        label="method",
    )
    kwargs32 = {k: _cast(v, torch.float32) for k, v in kwargs.items()}
    xs32 = _cast(xs, torch.float32)
    expl32 = run_explain(fwd, xs32, method, kwargs32)
    try:
        expl64 = run_explain(fwd, xs, method, kwargs)
    except ValueError as err:  # a hook method may refuse float64 (never answer differently)
        assert method in HOOK_METHODS and "float32" in str(err), err
        event("hook method refused float64 inputs")
        return
    keep = _well_conditioned_times(fwd, xs, kwargs.get("baselines"))
    note(f"well-conditioned time points: {keep.tolist()}")
    event(f"compared {len(keep)} of {fwd.n_times} time points")
    a32, a64 = _attributions(expl32), _attributions(expl64)
    for i, (a, e) in enumerate(zip(a32, a64, strict=True)):
        if not e.is_floating_point():
            continue
        assert a.dtype == torch.float32, f"input {i}: float32 inputs gave {a.dtype}"
        assert_close(a[:, keep], e[:, keep], 2e-4, f"input {i}")
    assert_close(expl32.prediction[:, keep], expl64.prediction[:, keep], 2e-5, "prediction")


def _well_conditioned_times(fwd, xs, baselines) -> torch.Tensor:
    """Time columns where float64 survival >= MIN_SURVIVAL on inputs, baselines and paths."""
    survival = fwd.with_output("survival", event=None) if fwd.output != "survival" else fwd
    starts = (
        baselines
        if baselines is not None
        else tuple(torch.zeros_like(x[:1]) if x.is_floating_point() else None for x in xs)
    )
    points = []
    n_starts = _n_rows(starts)
    for alpha in np.linspace(0.0, 1.0, 6):
        for m in range(n_starts):
            points.append(
                tuple(
                    s[m : m + 1] + alpha * (x - s[m : m + 1]) if x.is_floating_point() else x
                    for x, s in zip(xs, starts, strict=True)
                )
            )
    with torch.no_grad():
        s = torch.cat([survival(*p) for p in points], dim=0)
    return torch.nonzero(s.min(dim=0).values >= MIN_SURVIVAL).reshape(-1)


@st.composite
def user_states(draw, net: nn.Module) -> None:
    """Leave the user's net as a user might: train or eval mode, frozen parameters, grads."""
    net.train(draw(st.booleans()))
    modules = list(net.modules())
    for module in draw(st.lists(st.sampled_from(modules), max_size=2)):
        module.train(not module.training)
    params = list(net.parameters())
    for p in draw(st.lists(st.sampled_from(params), max_size=3)):
        p.requires_grad_(False)
    for p in draw(st.lists(st.sampled_from(params), max_size=2)):
        p.grad = torch.full_like(p, 0.5)


@budget(20)
@given(data=st.data())
def test_user_model_is_never_changed(data):
    """Invariant 4: weights, buffers, train/eval flags, requires_grad and .grad stay as they are."""
    hooks = () if "float64_hooks" in PENDING else HOOK_METHODS
    scenario = data.draw(scenarios(), label="scenario")
    model = scenario.model
    data.draw(user_states(model.net), label="user state")
    before = snapshot(model)
    fwd = data.draw(forwards(scenario), label="forward")
    dtype = data.draw(st.sampled_from((torch.float32, torch.float64)), label="dtype")
    xs = scenario.rows(2, seed=1, dtype=dtype)
    for _ in range(2):  # a second call reuses whatever the first one cached
        method, kwargs = data.draw(
            method_calls(scenario, xs, (*GRADIENT_METHODS, Saliency, *hooks)), label="method"
        )
        try:
            run_explain(fwd, xs, method, {k: _cast(v, dtype) for k, v in kwargs.items()}, seed=0)
        except ValueError as err:  # DeepLift refuses float64 inputs; the model must not change
            assert method in HOOK_METHODS and "float32" in str(err), err
    assert_same(before, model)


@budget(20)
@given(data=st.data())
def test_same_seed_reproduces_random_methods(data):
    """Invariant 5: SG(t), GradSHAP(t) and Captum's random methods repeat exactly with a seed."""
    scenario = data.draw(scenarios(), label="scenario")
    fwd = data.draw(forwards(scenario), label="forward")
    dtype = data.draw(st.sampled_from((torch.float32, torch.float64)), label="dtype")
    xs = scenario.rows(data.draw(st.integers(1, 3), label="rows"), seed=1, dtype=dtype)
    kinds = ["smoothgrad", "gradshap", "NoiseTunnel", "GradientShap"]
    kind = data.draw(st.sampled_from(kinds))
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    batch_size = data.draw(st.none() | st.integers(1, 9), label="batch_size")
    floats = [i for i, x in enumerate(xs) if x.is_floating_point()]
    if kind == "smoothgrad":
        method = "smoothgrad"
        kwargs = {"n_samples": 3, "reference": scenario.reference_rows(6, 3, dtype)}
    elif kind == "gradshap":
        method = "gradshap"
        kwargs = {"baselines": scenario.reference_rows(3, 2, dtype), "sampling": "random"}
        kwargs["n_samples"] = 4
    elif kind == "NoiseTunnel":
        method = NoiseTunnel(Saliency(fwd))
        kwargs = {"nt_type": "smoothgrad", "nt_samples": 3, "stdevs": 0.2}
    else:
        method, kwargs = GradientShap, {"baselines": scenario.rows(3, 2, dtype), "n_samples": 4}
    note(f"method={kind} floats={floats}")

    def run():
        torch.randn(int(torch.randint(1, 50, ()).item()))  # disturb the global RNG
        np.random.rand(int(np.random.randint(1, 50)))
        return run_explain(fwd, xs, method, kwargs, seed=seed, batch_size=batch_size)

    first, second = _attributions(run()), _attributions(run())
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        assert torch.equal(a, b), f"input {i}: same seed, different attributions"


_FAMILY_KIND = {"CoxPH": "cox", "CoxCC": "cox", "CoxTime": "coxtime", "PCHazard": "pchazard"}


@pytest.mark.parametrize("family", FAMILIES)
@budget(2)
@given(data=st.data())
def test_forward_reproduces_pycox_on_the_native_grid(family, data):
    """The forward's every output on the native grid equals pycox's own predictions.

    float32 and float64 inputs, against pycox's float32 predictions (to float32 rounding).
    """
    scenario = data.draw(scenarios(families=(family,)), label="scenario")
    output = data.draw(st.sampled_from(OUTPUTS[scenario.family]), label="output")
    cause = None
    if scenario.family == "DeepHit" and output in ("cif", "pmf", "hazard"):
        cause = data.draw(st.integers(0, scenario.n_risks - 1), label="event")
    event(f"output={output}")
    xs = scenario.rows(3, seed=1, dtype=torch.float32)
    kind = _FAMILY_KIND.get(scenario.family, "deephit" if scenario.family == "DeepHit" else "")
    case = Case(
        scenario.family,
        kind or "discrete",
        scenario.model,
        _as_input(xs),
        None,
        OUTPUTS[scenario.family],
        labtrans=getattr(scenario.model, "labtrans", None),
    )
    if kind in ("cox", "coxtime"):  # not the cached helper: every example is a new model
        expected = CoxReference(case).native(output)
    else:
        expected = discrete_native(case, output, cause)
    fwd = captum_surv.from_pycox(scenario.model, output, event=cause)
    for dtype in (torch.float32, torch.float64):
        with torch.no_grad():
            got = fwd(*_cast(xs, dtype))
        assert got.dtype == dtype
        rtol = 1e-5 if output in ("cumhazard", "hazard", "log_risk") else 0.0
        np.testing.assert_allclose(
            got.double().numpy(), expected, rtol=rtol, atol=1e-5, err_msg=f"{output} {dtype}"
        )


# ----------------------------------------------------------------------------- regressions
# Failures the properties found, kept as explicit examples (see CONTRIBUTING.md).
@pytest.mark.parametrize("method", ["grad", "intgrad", Saliency])
def test_coxtime_times_before_the_first_event_time(method):
    """Found by the harness: CoxTime with every requested time before its first event time
    crashed the Jacobian engine ("cannot reshape tensor of 0 elements"). Survival is 1 there
    whatever x, so those columns get zero attributions; later columns are unaffected."""
    case = get_case("CoxTime")
    first = float(captum_surv.from_pycox(case.model).native_times[0])
    xs = (case.x[:3].double(),)
    for times in ([0.0], [0.0, 0.5 * first, first]):
        fwd = captum_surv.from_pycox(case.model, times=times)
        got = captum_surv.explain(fwd, xs[0], method).attributions
        kwargs = {"n_steps": 50} if method == "intgrad" else {}
        expected = reference_loop(fwd, xs, (), method, kwargs)[0]
        assert_close(got, expected, 1e-7, f"times={times}")
        assert torch.all(got[:, times.index(0.0)] == 0)


@pytest.mark.parametrize("codes_first", [True, False])
def test_deephit_with_integer_codes(codes_first):
    """Found by the harness: from_pycox failed for a DeepHit net taking category codes
    (nn.Embedding), because it probed the net with float zeros to count the risks."""
    codes, feats = InputSpec("embedding", (2,), vocab=3), InputSpec("mlp", (2,))
    specs = (codes, feats) if codes_first else (feats, codes)
    model = build_model(
        "DeepHit", specs, hidden=3, activation=nn.Tanh, batch_norm=False, dropout=0.0,
        n_cuts=4, n_risks=2, sub=1, train=True, seed=3,
    )  # fmt: skip
    scenario = Scenario("DeepHit", specs, model, 2, 3, "DeepHit with codes")
    xs = scenario.rows(3, seed=1, dtype=torch.float32)
    fwd = captum_surv.from_pycox(model, "cif", event=1)
    case = Case("DeepHit", "deephit", model, xs, None, OUTPUTS["DeepHit"])
    with torch.no_grad():
        got = fwd(*xs).double().numpy()
    np.testing.assert_allclose(got, discrete_native(case, "cif", 1), rtol=0, atol=1e-6)
    xs64 = _cast(xs, torch.float64)
    expl = captum_surv.explain(fwd, xs64, "grad")
    expected = reference_loop(fwd, xs64, scenario.integer_positions, "grad", {})
    i = 1 if codes_first else 0
    assert_close(expl.attributions[i], expected[i], 1e-7, "float input")
    assert torch.all(expl.attributions[1 - i] == 0)


@pytest.mark.parametrize("method", [Saliency, IntegratedGradients])
def test_captum_classes_hold_integer_inputs_fixed(method):
    """Issue 9 defect 4 (Captum-class path): codes are held fixed, as a Captum loop with the
    codes as additional forward arguments; their attributions are zeros."""
    specs = (InputSpec("embedding", (2,), vocab=3), InputSpec("mlp", (3,)))
    model = build_model(
        "LogisticHazard", specs, hidden=3, activation=nn.Tanh, batch_norm=False, dropout=0.0,
        n_cuts=4, n_risks=1, sub=1, train=False, seed=2,
    )  # fmt: skip
    scenario = Scenario("LogisticHazard", specs, model, 1, 2, "codes + features")
    fwd = captum_surv.from_pycox(model)
    xs = scenario.rows(2, seed=1)
    expl = captum_surv.explain(fwd, xs, method)
    expected = reference_loop(fwd, xs, (0,), method.__name__, {"n_steps": 50})
    assert_close(expl.attributions[1], expected[1], 1e-7, "float input")
    assert torch.all(expl.attributions[0] == 0)


def _codes_and_features(family: str = "CoxPH"):
    specs = (InputSpec("embedding", (2,), vocab=4), InputSpec("mlp", (3,)))
    model = build_model(
        family, specs, hidden=3, activation=nn.Tanh, batch_norm=False, dropout=0.0,
        n_cuts=4, n_risks=1, sub=1, train=False, seed=1,
    )  # fmt: skip
    return Scenario(family, specs, model, 1, 1, "codes + features")


@pytest.mark.parametrize("baselines", ["default", "None for the codes"])
def test_captum_class_reference_prediction_keeps_integer_codes(baselines):
    """Found by the harness: with integer inputs and a Captum class, explain() evaluated the
    reference prediction at codes 0 (not at the held-fixed codes), so IntegratedGradients'
    completeness looked violated; a None baseline entry for the codes crashed."""
    scenario = _codes_and_features()
    fwd = captum_surv.from_pycox(scenario.model, times=3)
    codes, x = scenario.rows(2, seed=1)
    codes[:] = 3
    base = None if baselines == "default" else (None, torch.zeros(1, 3, dtype=torch.float64))
    expl = captum_surv.explain(fwd, (codes, x), IntegratedGradients, base, n_steps=200)
    with torch.no_grad():
        expected = fwd(codes, torch.zeros_like(x))  # codes held fixed, features at 0
    assert_close(expl.reference_prediction, expected, 1e-12, "reference prediction")
    total = expl.attributions[1].sum(dim=-1)
    assert_close(total, expl.prediction - expected, 1e-4, "completeness")


def test_deeplift_holds_integer_inputs_fixed():
    """Found by this harness (explain with DeepLift crashed on integer inputs: Captum hooks
    the embedding branch, whose frozen tensors need no gradient). Reference: Captum's
    DeepLift looped over targets on a module that reorders the inputs, with the frozen
    network's parameters made to require gradients for the reference run only."""

    class Reordered(nn.Module):
        def __init__(self, forward):
            super().__init__()
            self.survival_forward = forward

        def forward(self, features, codes):
            return self.survival_forward(codes, features)

    scenario = _codes_and_features("LogisticHazard")
    fwd = captum_surv.from_pycox(scenario.model)
    codes, x = scenario.rows(2, seed=1, dtype=torch.float32)
    expl = captum_surv.explain(fwd, (codes, x), DeepLift)
    params = list(fwd.net.parameters())
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    try:
        expected = [
            DeepLift(Reordered(fwd)).attribute(x, target=k, additional_forward_args=codes)
            for k in range(fwd.n_times)
        ]
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)
    assert_close(expl.attributions[1], torch.stack(expected, dim=1), 1e-5, "float input")
    assert torch.all(expl.attributions[0] == 0)
    assert not any(p.requires_grad for p in fwd.net.parameters())
