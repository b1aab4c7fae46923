"""The tests' model zoo: every model family the tests train, in one registry.

:data:`FAMILIES` has one entry per pycox family of ``captum_surv.SUPPORTED_MODELS``: how to
build its label transform, its network's output size, the pycox model and the training
target. :func:`train` fits any family on simulated data (``captum_surv.datasets``'
:func:`~captum_surv.datasets.simulate_weibull`) with the activation, hidden sizes, batch norm,
dropout, cuts and epochs a test asks for. On top of it:

* :func:`get_case`: one model of every family (plus a two-input net) with BatchNorm and
  Dropout, trained once per session, for the parity and gradient tests;
* :func:`build`: small smooth (tanh) models for attribution tests;
* :func:`wrap`: an untrained pycox model around any network (embeddings, LSTMs, ...).

Adding a family to the tests is one :data:`FAMILIES` entry (and a :data:`OUTPUTS` row).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torchtuples as tt
from pycox import models as pm
from pycox.models.cox_time import MLPVanillaCoxTime
from pycox.preprocessing.label_transforms import LabTransDiscreteTime
from torch import nn

import captum_surv
from captum_surv.datasets import simulate_weibull

# pycox/torchtuples emit deprecation / read-only-array noise with current numpy/pandas.
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", message=".*non-writable.*")
warnings.filterwarnings("ignore", message=".*not writable.*")
warnings.filterwarnings("ignore", category=UserWarning, module="torchtuples")


# =========================================================================== simulated data
@dataclasses.dataclass(frozen=True)
class Simulation:
    """Arguments of :func:`captum_surv.datasets.simulate_weibull` for the tests' data."""

    coefficients: tuple[float, ...]
    scale: float
    censoring: tuple[float, float]
    interactions: dict = dataclasses.field(default_factory=dict)
    min_duration: float = 0.0
    # the second cause of competing-risks data: (coefficients, scale)
    competing: tuple[tuple[float, ...], float] = ((-0.8, 0.0, 0.6, 0.0), 3.5)


#: Four features, a nonlinear (x3 * x4) log-hazard; the parity cases' data.
MAIN = Simulation((0.9, -0.7, 0.0, 0.0), 3.0, (0.3, 4.0), {("x3", "x4"): 0.4}, min_duration=0.02)
#: Five features, linear log-hazard; the smooth models' data.
SMOOTH = Simulation(
    (0.8, -0.6, 0.3, 0.0, 0.0), 2.0, (0.5, 4.0), competing=((-0.5, 0.0, 0.4, 0.0, 0.0), 2.5)
)
#: Four features, linear log-hazard; the baselines tests' data.
LINEAR = Simulation((1.2, -0.8, 0.3, 0.0), 2.0, (0.3, 4.0), min_duration=0.01)


def simulate(n: int, seed: int, competing: bool = False, sim: Simulation = MAIN):
    """``(x [n, p] float32, durations float32, events int64)`` of a Weibull simulation.

    Events are 0 (censored) or the cause (1, or 1..2 with ``competing``).
    """
    coefficients, scale, interactions = sim.coefficients, sim.scale, sim.interactions
    if competing:
        coefficients = [sim.coefficients, sim.competing[0]]
        scale, interactions = [sim.scale, sim.competing[1]], [sim.interactions, {}]
    data = simulate_weibull(
        n,
        coefficients,
        interactions=interactions,
        scale=scale,
        shape=1.5,
        censoring=sim.censoring,
        min_duration=sim.min_duration,
        seed=seed,
    )
    return data.features, data.durations, data.events


# =========================================================================== networks
def mlp(
    in_features: int,
    out_features: int,
    activation: type[nn.Module] = nn.Tanh,
    output_bias: bool = True,
    hidden: tuple[int, ...] = (16, 16),
    batch_norm: bool = True,
    dropout: float | None = 0.1,
) -> nn.Module:
    """torchtuples' MLP (pycox's usual network)."""
    return tt.practical.MLPVanilla(
        in_features,
        list(hidden),
        out_features,
        batch_norm=batch_norm,
        dropout=dropout,
        activation=activation,
        output_bias=output_bias,
    )


class DeepHitNet(nn.Module):
    """Competing-risks net: output ``[B, n_risks, n_times]``."""

    def __init__(self, in_features: int, n_risks: int, n_times: int, **mlp_options: Any):
        super().__init__()
        self.n_risks, self.n_times = n_risks, n_times
        self.mlp = mlp(in_features, n_risks * n_times, **mlp_options)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x).view(x.shape[0], self.n_risks, self.n_times)


class TwoInputNet(nn.Module):
    """Multi-input net: ``forward(x_a, x_b)`` concatenates the two tensors."""

    def __init__(self, n_a: int, n_b: int, out_features: int, **mlp_options: Any):
        super().__init__()
        self.mlp = mlp(n_a + n_b, out_features, **mlp_options)

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([x_a, x_b], dim=1))


class BranchNet(nn.Module):
    """Multi-input net with one linear branch per input and a tanh head."""

    def __init__(self, n_a: int, n_b: int, out_features: int):
        super().__init__()
        self.a = nn.Linear(n_a, 8)
        self.b = nn.Linear(n_b, 8)
        self.head = nn.Sequential(nn.Tanh(), nn.Linear(16, out_features))

    def forward(self, xa: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.a(xa), self.b(xb)], dim=1))


class EmbeddingNet(nn.Module):
    """Float features and integer category codes (``nn.Embedding``), e.g. an EHR model.

    ``forward(a, b)`` takes ``(features, codes)``, or ``(codes, features)`` with
    ``codes_first=True``; ``n_float=0`` gives a codes-only network ``forward(codes)``.
    """

    def __init__(self, n_float: int, n_levels: int, out: int, codes_first: bool = False):
        super().__init__()
        self.codes_first = codes_first
        self.embed = nn.Embedding(n_levels, 3)
        self.body = nn.Sequential(nn.Linear(n_float + 3, 8), nn.Tanh(), nn.Linear(8, out))

    def features(self, x: torch.Tensor | None, codes: torch.Tensor) -> torch.Tensor:
        e = self.embed(codes).sum(dim=1)
        return e if x is None else torch.cat([x, e], dim=1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        x, codes = (b, a) if self.codes_first else (a, b)
        return self.body(self.features(x, codes))


class CodesOnlyNet(EmbeddingNet):
    def __init__(self, n_levels: int, out: int):
        super().__init__(0, n_levels, out)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.body(self.features(None, codes))


class EmbeddingTimeNet(EmbeddingNet):
    """CoxTime version of :class:`EmbeddingNet`: ``forward(features, codes, time)``."""

    def __init__(self, n_float: int, n_levels: int):
        super().__init__(n_float + 1, n_levels, 1)

    def forward(self, x: torch.Tensor, codes: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.body(self.features(torch.cat([x, t], dim=1), codes))


class DeepHitLabTrans(LabTransDiscreteTime):
    """As in pycox's competing-risk example: events keep their cause label."""

    def transform(self, durations, events):
        idx, is_event = super().transform(durations, events > 0)
        events = np.asarray(events).copy()
        events[is_event == 0] = 0
        return idx, events.astype("int64")


# =========================================================================== the registry
@dataclasses.dataclass(frozen=True)
class Family:
    """How the tests build and train one pycox family.

    Attributes:
        name: pycox's class name.
        kind: ``"cox"``, ``"coxtime"``, ``"discrete"``, ``"pchazard"`` or ``"deephit"``.
        make: ``make(net, optimizer, labtrans, sub, **model_kwargs)`` -> the pycox model.
        label_transform: ``label_transform(n_cuts)`` -> a fitted-later label transform,
            or None (CoxPH, CoxCC: durations and events as they are).
    """

    name: str
    kind: str
    make: Callable[..., Any]
    label_transform: Callable[[int], Any] | None

    def out_features(self, labtrans: Any, n_risks: int = 2) -> int:
        """Number of network outputs (per risk for DeepHit: ``len(cuts)``)."""
        if self.kind in ("cox", "coxtime"):
            return 1
        return len(labtrans.cuts) if self.kind == "deephit" else labtrans.out_features

    def target(self, labtrans: Any, durations: np.ndarray, events: np.ndarray):
        """The training target pycox's ``fit`` expects."""
        if self.kind == "deephit":
            return labtrans.fit_transform(durations, events)
        events = (events > 0).astype(np.float32)
        if labtrans is None:
            return durations, events
        return labtrans.fit_transform(durations, events)


def _discrete(cls: type, **fixed: Any) -> Callable[..., Any]:
    def make(net, optimizer, labtrans, sub, **model_kwargs):
        return cls(net, optimizer, duration_index=labtrans.cuts, **fixed, **model_kwargs)

    return make


FAMILIES: dict[str, Family] = {
    "CoxPH": Family("CoxPH", "cox", lambda net, opt, lt, sub, **kw: pm.CoxPH(net, opt), None),
    "CoxCC": Family("CoxCC", "cox", lambda net, opt, lt, sub, **kw: pm.CoxCC(net, opt), None),
    "CoxTime": Family(
        "CoxTime",
        "coxtime",
        lambda net, opt, lt, sub, **kw: pm.CoxTime(net, opt, labtrans=lt),
        lambda n_cuts: pm.CoxTime.label_transform(),
    ),
    "LogisticHazard": Family(
        "LogisticHazard",
        "discrete",
        _discrete(pm.LogisticHazard),
        pm.LogisticHazard.label_transform,
    ),
    "PMF": Family("PMF", "discrete", _discrete(pm.PMF), pm.PMF.label_transform),
    "DeepHitSingle": Family(
        "DeepHitSingle",
        "discrete",
        _discrete(pm.DeepHitSingle),
        pm.DeepHitSingle.label_transform,
    ),
    "MTLR": Family("MTLR", "discrete", _discrete(pm.MTLR), pm.MTLR.label_transform),
    "BCESurv": Family("BCESurv", "discrete", _discrete(pm.BCESurv), pm.BCESurv.label_transform),
    "PCHazard": Family(
        "PCHazard",
        "pchazard",
        lambda net, opt, lt, sub, **kw: pm.PCHazard(net, opt, duration_index=lt.cuts, sub=sub),
        pm.PCHazard.label_transform,
    ),
    "DeepHit": Family("DeepHit", "deephit", _discrete(pm.DeepHit), DeepHitLabTrans),
}
assert set(FAMILIES) == set(captum_surv.SUPPORTED_MODELS), "one zoo entry per supported family"


def default_net(family: Family, n_in: int, n_out: int, n_risks: int, **mlp_options: Any):
    """The family's usual network: an MLP (CoxTime's with a time input, DeepHit's 3-D)."""
    if family.kind == "coxtime":
        return MLPVanillaCoxTime(
            n_in,
            list(mlp_options.get("hidden", (16, 16))),
            batch_norm=mlp_options.get("batch_norm", True),
            dropout=mlp_options.get("dropout", 0.1),
            activation=mlp_options.get("activation", nn.Tanh),
        )
    if family.kind == "deephit":
        return DeepHitNet(n_in, n_risks, n_out, **mlp_options)
    return mlp(n_in, n_out, **mlp_options)


def train(
    name: str,
    x: Any,
    durations: np.ndarray,
    events: np.ndarray,
    net: Callable[[int], nn.Module] | None = None,
    *,
    n_cuts: int = 10,
    sub: int = 3,
    epochs: int = 8,
    batch_size: int = 64,
    lr: float = 0.01,
    baselines: str | None = "pycox",
    model_kwargs: dict | None = None,
    **mlp_options: Any,
):
    """Fit a model of family ``name``; returns ``(model, labtrans)``.

    Args:
        name: A key of :data:`FAMILIES`.
        x: Training inputs (an array or a tuple of arrays for multi-input nets).
        durations, events: Outcome; events 0 or the cause.
        net: ``net(n_out)`` -> the network; default :func:`default_net` with ``mlp_options``
            (``activation``, ``hidden``, ``batch_norm``, ``dropout``, ``output_bias``).
        baselines: Baseline hazards of Cox families on the training rows: ``"pycox"``
            (pycox's ``compute_baseline_hazards``), ``"captum_surv"`` (CoxTime:
            ``captum_surv.compute_coxtime_baseline_hazards``) or None (not computed).
    """
    family = FAMILIES[name]
    labtrans = family.label_transform(n_cuts) if family.label_transform else None
    target = family.target(labtrans, durations, events)
    n_out = family.out_features(labtrans)
    n_in = (x if not isinstance(x, tuple) else x[0]).shape[1]
    module = net(n_out) if net is not None else default_net(family, n_in, n_out, 2, **mlp_options)
    model = family.make(module, tt.optim.Adam(lr=lr), labtrans, sub, **(model_kwargs or {}))
    model.fit(x, target, batch_size=batch_size, epochs=epochs, verbose=False)
    if family.kind in ("cox", "coxtime") and baselines is not None:
        if family.kind == "coxtime" and baselines == "captum_surv":
            captum_surv.compute_coxtime_baseline_hazards(model, set_hazards=True)
        else:
            model.compute_baseline_hazards()
    return model, labtrans


# =========================================================================== parity cases
@dataclasses.dataclass
class Case:
    name: str
    family: str  # "cox", "coxtime", "discrete", "pchazard", "deephit"
    model: Any
    x: Any  # test input: a float32 tensor or a tuple of float32 tensors
    x_train: Any
    outputs: tuple  # supported outputs per the API spec
    n_events: int = 0  # DeepHit risks
    labtrans: Any = None

    @property
    def multi_input(self):
        return isinstance(self.x, tuple)

    def inputs(self, dtype=torch.float32, rows=None):
        """The test input as a tuple of tensors (for fwd(*inputs))."""
        xs = self.x if isinstance(self.x, tuple) else (self.x,)
        if rows is not None:
            xs = tuple(t[rows] for t in xs)
        return tuple(t.to(dtype).clone() for t in xs)


_COX = ("survival", "cumhazard", "hazard", "log_risk")
_DISCRETE = ("survival", "cumhazard", "hazard", "pmf")
OUTPUTS = {
    "CoxPH": _COX,
    "CoxCC": _COX,
    "CoxTime": _COX,
    "LogisticHazard": _DISCRETE,
    "LogisticHazard2in": _DISCRETE,
    "PMF": _DISCRETE,
    "DeepHitSingle": _DISCRETE,
    "MTLR": _DISCRETE,
    "PCHazard": _DISCRETE,
    "BCESurv": ("survival", "cumhazard"),
    "DeepHit": ("survival", "cumhazard", "cif", "pmf", "hazard"),
}
# DeepHit outputs that need an event index
EVENT_OUTPUTS = ("cif", "pmf", "hazard")
CASE_NAMES = list(OUTPUTS)
N_FEAT = 4
N_TEST = 6
# data seed and training rows per case (pycox's CoxTime baseline/prediction loops are slow)
_CASE_DATA = {"CoxPH": (1, 300), "CoxCC": (1, 300), "CoxTime": (2, 200), "DeepHit": (3, 300)}
_RELU = ("CoxPH", "PMF")  # pycox's default ReLU, so that both activations are exercised
_DEEPHIT_LOSS = {"alpha": 0.2, "sigma": 0.1}


def _x_test(seed: int = 777) -> torch.Tensor:
    x = np.random.default_rng(seed).normal(size=(N_TEST, N_FEAT)).astype(np.float32)
    x[0] = 0.0  # a row at the origin (typical baseline)
    return torch.from_numpy(x)


def build_case(name: str) -> Case:
    """A model of family ``name`` with BatchNorm and Dropout, trained for eight epochs."""
    torch.manual_seed(0)
    np.random.seed(0)
    x_test = _x_test()
    seed, n_train = _CASE_DATA.get(name, (4, 300))
    x, d, e = simulate(n_train, seed, competing=name == "DeepHit")
    family = "LogisticHazard" if name == "LogisticHazard2in" else name
    options = {"activation": nn.ReLU if name in _RELU else nn.Tanh}
    if family in ("CoxPH", "CoxCC"):
        options["output_bias"] = False
    if family in ("DeepHit", "DeepHitSingle"):
        options["model_kwargs"] = _DEEPHIT_LOSS
    if name == "LogisticHazard2in":
        x = (x[:, :3].copy(), x[:, 3:].copy())
        x_test = (x_test[:, :3].clone(), x_test[:, 3:].clone())
        options["net"] = lambda n_out: TwoInputNet(3, 1, n_out)
    model, labtrans = train(family, x, d, e, **options)
    kind = FAMILIES[family].kind
    return Case(
        name,
        kind,
        model,
        x_test,
        x,
        OUTPUTS[name],
        n_events=2 if kind == "deephit" else 0,
        labtrans=labtrans,
    )


@functools.cache
def get_case(name: str) -> Case:
    """:func:`build_case`, once per session."""
    return build_case(name)


def user_copy(model):
    """A pycox model object sharing nothing mutable with ``model``'s net.

    Shallow copy of the pycox wrapper (own ``__dict__``) with a deep-copied net, so tests may
    modify flags/weights/attributes without touching the session's cases.
    """
    m = copy.copy(model)
    m.net = copy.deepcopy(model.net)
    return m


# =========================================================================== smooth models
N_FEATURES = 5
_SMOOTH = {  # kind -> (family, n_cuts, sub)
    "coxph": ("CoxPH", 10, 1),
    "coxtime": ("CoxTime", 10, 1),
    "logistic_hazard": ("LogisticHazard", 8, 1),
    "pchazard": ("PCHazard", 6, 2),
    "deephit": ("DeepHit", 6, 1),
    "two_input": ("LogisticHazard", 6, 1),
}


def smooth_data(seed: int = 0, competing: bool = False):
    """The smooth models' training data ``(x, durations, events)`` (float32 0/1 events
    without ``competing``)."""
    x, d, e = simulate(240, seed, competing=competing, sim=SMOOTH)
    return x, d, (e if competing else e.astype(np.float32))


def build(kind: str, activation: type[nn.Module] = nn.Tanh, seed: int = 0):
    """Train a small smooth model of ``kind`` for two epochs; returns ``(model, x_train)``.

    Kinds: ``"coxph"``, ``"coxtime"``, ``"logistic_hazard"``, ``"pchazard"``, ``"deephit"``
    (two competing risks) and ``"two_input"`` (a :class:`BranchNet` LogisticHazard).
    """
    if kind not in _SMOOTH:
        raise ValueError(kind)
    family, n_cuts, sub = _SMOOTH[kind]
    torch.manual_seed(seed)
    x, d, e = smooth_data(seed, competing=kind == "deephit")
    options: dict[str, Any] = {"activation": activation}
    if kind == "coxtime":
        options["dropout"] = None
    if kind == "two_input":
        x = (x[:, :3].copy(), x[:, 3:].copy())
        options = {"net": lambda n_out: BranchNet(3, N_FEATURES - 3, n_out)}
    model, _ = train(
        family,
        x,
        d,
        e,
        n_cuts=n_cuts,
        sub=sub,
        epochs=2,
        baselines="captum_surv",
        **options,
    )
    if isinstance(x, tuple):
        return model, tuple(torch.from_numpy(a.copy()) for a in x)
    return model, torch.from_numpy(x.copy())


def wrap(kind: str, net: nn.Module, x_train, n_cuts: int = 6, seed: int = 0, target=None):
    """An untrained pycox model of ``kind`` around any ``net``, ready for ``from_pycox``.

    ``x_train`` (a tensor or a tuple of tensors, the network's inputs) gives the rows for
    the baseline hazards of ``"coxph"`` and ``"coxtime"``; their durations and events are
    ``target`` or, by default, simulated. ``"logistic_hazard"`` uses ``n_cuts`` cuts.
    """
    if target is None:
        rows = (x_train if isinstance(x_train, tuple) else (x_train,))[0].shape[0]
        _, d, e = simulate(rows, seed, sim=SMOOTH)
        e = (e > 0).astype(np.float32)
    else:
        d, e = target
    if kind == "coxph":
        model = pm.CoxPH(net)
        model.compute_baseline_hazards(input=x_train, target=(d, e))
    elif kind == "coxtime":
        labtrans = pm.CoxTime.label_transform()
        durations, events = labtrans.fit_transform(d, e)
        model = pm.CoxTime(net, labtrans=labtrans)
        captum_surv.compute_coxtime_baseline_hazards(
            model, x_train, (durations, events), set_hazards=True
        )
    elif kind == "logistic_hazard":
        labtrans = pm.LogisticHazard.label_transform(n_cuts)
        labtrans.fit(d, e)
        model = pm.LogisticHazard(net, duration_index=labtrans.cuts)
    else:
        raise ValueError(kind)
    return model
