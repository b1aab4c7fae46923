"""Shared fixtures: one small trained pycox model of every supported type.

Every model is trained for a few epochs on simulated data (fixed seeds) with
BatchNorm and Dropout in the net, so that eval and train mode give different
predictions.  The references used by the tests are computed from pycox's own
predictions only (see ``tests/_reference.py``), never from captum_surv.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchtuples as tt
from pycox import models as pm
from pycox.models.cox_time import MLPVanillaCoxTime
from pycox.preprocessing.label_transforms import LabTransDiscreteTime
from torch import nn

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # make the in-repo package importable without installing it
    sys.path.insert(0, _ROOT)

N_TRAIN = 300
N_TRAIN_COXTIME = 200  # pycox's CoxTime baseline/prediction loops are slow
N_TEST = 6
N_FEAT = 4
N_CUTS = 10
PCHAZARD_SUB = 3
EPOCHS = 8
HIDDEN = [16, 16]
DROPOUT = 0.1

# pycox/torchtuples emit deprecation / read-only-array noise with current numpy/pandas.
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", message=".*non-writable.*")
warnings.filterwarnings("ignore", message=".*not writable.*")


# --------------------------------------------------------------------------- data
def simulate(n: int, seed: int, competing: bool = False):
    """Weibull proportional-hazards data with uniform censoring (float32)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEAT)).astype(np.float32)
    lin = 0.9 * x[:, 0] - 0.7 * x[:, 1] + 0.4 * x[:, 2] * x[:, 3]
    shape = 1.5
    t1 = 3.0 * (-np.log(rng.uniform(size=n)) / np.exp(lin)) ** (1.0 / shape)
    cens = rng.uniform(0.3, 4.0, size=n)
    if competing:
        lin2 = -0.8 * x[:, 0] + 0.6 * x[:, 2]
        t2 = 3.5 * (-np.log(rng.uniform(size=n)) / np.exp(lin2)) ** (1.0 / shape)
        t_ev = np.minimum(t1, t2)
        cause = np.where(t1 <= t2, 1, 2)
    else:
        t_ev = t1
        cause = np.ones(n, dtype=int)
    durations = np.maximum(np.minimum(t_ev, cens), 0.02).astype(np.float32)
    events = np.where(t_ev <= cens, cause, 0)
    return x, durations, events


def _x_test(seed: int = 777) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N_TEST, N_FEAT)).astype(np.float32)
    x[0] = 0.0  # a row at the origin (typical baseline)
    return x


# --------------------------------------------------------------------------- nets
def mlp(in_features, out_features, activation=nn.Tanh, output_bias=True):
    return tt.practical.MLPVanilla(
        in_features,
        HIDDEN,
        out_features,
        batch_norm=True,
        dropout=DROPOUT,
        activation=activation,
        output_bias=output_bias,
    )


class DeepHitNet(nn.Module):
    """Competing-risks net: output [B, n_risks, n_times]."""

    def __init__(self, in_features, n_risks, n_times):
        super().__init__()
        self.n_risks, self.n_times = n_risks, n_times
        self.mlp = mlp(in_features, n_risks * n_times)

    def forward(self, x):
        return self.mlp(x).view(x.shape[0], self.n_risks, self.n_times)


class TwoInputNet(nn.Module):
    """Multi-input net: forward(x_a, x_b) concatenates the two tensors."""

    def __init__(self, n_a, n_b, out_features):
        super().__init__()
        self.mlp = mlp(n_a + n_b, out_features)

    def forward(self, x_a, x_b):
        return self.mlp(torch.cat([x_a, x_b], dim=1))


class DeepHitLabTrans(LabTransDiscreteTime):
    """As in pycox's competing-risk example: events keep their cause label."""

    def transform(self, durations, events):
        idx, is_event = super().transform(durations, events > 0)
        events = np.asarray(events).copy()
        events[is_event == 0] = 0
        return idx, events.astype("int64")


# --------------------------------------------------------------------------- cases
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


OUTPUTS = {
    "CoxPH": ("survival", "cumhazard", "hazard", "log_risk"),
    "CoxCC": ("survival", "cumhazard", "hazard", "log_risk"),
    "CoxTime": ("survival", "cumhazard", "hazard", "log_risk"),
    "LogisticHazard": ("survival", "cumhazard", "hazard", "pmf"),
    "LogisticHazard2in": ("survival", "cumhazard", "hazard", "pmf"),
    "PMF": ("survival", "cumhazard", "hazard", "pmf"),
    "DeepHitSingle": ("survival", "cumhazard", "hazard", "pmf"),
    "MTLR": ("survival", "cumhazard", "hazard", "pmf"),
    "PCHazard": ("survival", "cumhazard", "hazard", "pmf"),
    "BCESurv": ("survival", "cumhazard"),
    "DeepHit": ("survival", "cumhazard", "cif", "pmf", "hazard"),
}
# DeepHit outputs that need an event index
EVENT_OUTPUTS = ("cif", "pmf", "hazard")

CASE_NAMES = list(OUTPUTS)


def _fit(model, x, y, batch_size=64):
    model.fit(x, y, batch_size=batch_size, epochs=EPOCHS, verbose=False)


def _t(a):
    return torch.from_numpy(np.array(a, dtype=np.float32, copy=True))


def build_case(name: str) -> Case:
    torch.manual_seed(0)
    np.random.seed(0)
    x_test = _t(_x_test())
    opt = lambda: tt.optim.Adam(lr=0.01)  # noqa: E731

    if name in ("CoxPH", "CoxCC"):
        x, d, e = simulate(N_TRAIN, 1)
        # CoxPH keeps pycox's default ReLU so both activations are exercised
        act = nn.ReLU if name == "CoxPH" else nn.Tanh
        net = mlp(N_FEAT, 1, activation=act, output_bias=False)
        model = getattr(pm, name)(net, opt())
        _fit(model, x, (d, e.astype(np.float32)))
        model.compute_baseline_hazards()
        return Case(name, "cox", model, x_test, x, OUTPUTS[name])

    if name == "CoxTime":
        x, d, e = simulate(N_TRAIN_COXTIME, 2)
        labtrans = pm.CoxTime.label_transform()
        y = labtrans.fit_transform(d, e.astype(np.float32))
        net = MLPVanillaCoxTime(
            N_FEAT, HIDDEN, batch_norm=True, dropout=DROPOUT, activation=nn.Tanh
        )
        model = pm.CoxTime(net, opt(), labtrans=labtrans)
        _fit(model, x, y)
        model.compute_baseline_hazards()
        return Case(name, "coxtime", model, x_test, x, OUTPUTS[name], labtrans=labtrans)

    if name == "DeepHit":
        x, d, e = simulate(N_TRAIN, 3, competing=True)
        labtrans = DeepHitLabTrans(N_CUTS)
        y = labtrans.fit_transform(d, e)
        net = DeepHitNet(N_FEAT, 2, len(labtrans.cuts))
        model = pm.DeepHit(net, opt(), alpha=0.2, sigma=0.1, duration_index=labtrans.cuts)
        _fit(model, x, y)
        return Case(name, "deephit", model, x_test, x, OUTPUTS[name], n_events=2, labtrans=labtrans)

    x, d, e = simulate(N_TRAIN, 4)
    e = e.astype(np.float32)
    if name == "PCHazard":
        labtrans = pm.PCHazard.label_transform(N_CUTS)
        y = labtrans.fit_transform(d, e)
        net = mlp(N_FEAT, labtrans.out_features)
        model = pm.PCHazard(net, opt(), duration_index=labtrans.cuts, sub=PCHAZARD_SUB)
        _fit(model, x, y)
        return Case(name, "pchazard", model, x_test, x, OUTPUTS[name], labtrans=labtrans)

    cls_name = "LogisticHazard" if name == "LogisticHazard2in" else name
    cls = getattr(pm, cls_name)
    labtrans = cls.label_transform(N_CUTS)
    y = labtrans.fit_transform(d, e)
    if name == "LogisticHazard2in":
        net = TwoInputNet(3, 1, labtrans.out_features)
        model = cls(net, opt(), duration_index=labtrans.cuts)
        x_in = (x[:, :3].copy(), x[:, 3:].copy())
        _fit(model, x_in, y)
        x_t = (x_test[:, :3].clone(), x_test[:, 3:].clone())
        return Case(name, "discrete", model, x_t, x_in, OUTPUTS[name], labtrans=labtrans)
    act = nn.ReLU if name == "PMF" else nn.Tanh
    net = mlp(N_FEAT, labtrans.out_features, activation=act)
    if name == "DeepHitSingle":
        model = cls(net, opt(), alpha=0.2, sigma=0.1, duration_index=labtrans.cuts)
    else:
        model = cls(net, opt(), duration_index=labtrans.cuts)
    _fit(model, x, y)
    return Case(name, "discrete", model, x_test, x, OUTPUTS[name], labtrans=labtrans)


_CASES: dict = {}


def get_case(name: str) -> Case:
    if name not in _CASES:
        _CASES[name] = build_case(name)
    return _CASES[name]


@pytest.fixture(scope="session")
def cases():
    """dict name -> Case for all model types (built lazily, once per session)."""
    return {n: get_case(n) for n in CASE_NAMES}


@pytest.fixture(scope="session", params=CASE_NAMES)
def case(request):
    return get_case(request.param)


def user_copy(model):
    """A pycox model object sharing nothing mutable with ``model``'s net.

    Shallow copy of the pycox wrapper (own ``__dict__``) with a deep-copied net,
    so tests may modify flags/weights/attributes without touching the session
    fixtures.
    """
    m = copy.copy(model)
    m.net = copy.deepcopy(model.net)
    return m
