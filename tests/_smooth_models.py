"""Small pycox models with smooth (tanh) networks, for attribution tests.

Smooth activations make the path integrals of IntGrad(t) converge fast, so completeness
can be checked at float64 precision. Each builder trains for two epochs on simulated data.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torchtuples as tt
from pycox import models as pm
from pycox.models.cox_time import MLPVanillaCoxTime
from pycox.preprocessing.label_transforms import LabTransDiscreteTime
from torch import nn

import captum_surv

warnings.filterwarnings("ignore", message=".*non-writable.*")
warnings.filterwarnings("ignore", category=UserWarning, module="torchtuples")

N_FEATURES = 5


def simulate(n: int = 240, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    lin = 0.8 * x[:, 0] - 0.6 * x[:, 1] + 0.3 * x[:, 2]
    t = (2.0 * (-np.log(rng.uniform(size=n)) / np.exp(lin)) ** (1 / 1.5)).astype(np.float32)
    c = rng.uniform(0.5, 4.0, size=n).astype(np.float32)
    d = np.minimum(t, c)
    e = (t <= c).astype(np.float32)
    return x, d, e, rng


def mlp(out: int, activation: type[nn.Module] = nn.Tanh, in_features: int = N_FEATURES):
    return tt.practical.MLPVanilla(
        in_features, [16, 16], out, batch_norm=True, dropout=0.1, activation=activation
    )


class _DeepHitNet(nn.Module):
    def __init__(self, n_risks: int, n_cuts: int, activation: type[nn.Module]):
        super().__init__()
        self.shape = (n_risks, n_cuts)
        self.body = mlp(n_risks * n_cuts, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).view(-1, *self.shape)


class _TwoInputNet(nn.Module):
    def __init__(self, out: int):
        super().__init__()
        self.a = nn.Linear(3, 8)
        self.b = nn.Linear(N_FEATURES - 3, 8)
        self.head = nn.Sequential(nn.Tanh(), nn.Linear(16, out))

    def forward(self, xa: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.a(xa), self.b(xb)], dim=1))


def build(kind: str, activation: type[nn.Module] = nn.Tanh, seed: int = 0):
    """Train a small model of ``kind``; returns ``(model, x_train)``."""
    torch.manual_seed(seed)
    x, d, e, rng = simulate(seed=seed)
    if kind == "coxph":
        model = pm.CoxPH(mlp(1, activation), tt.optim.Adam(0.01))
        model.fit(x, (d, e), batch_size=64, epochs=2, verbose=False)
        model.compute_baseline_hazards()
    elif kind == "coxtime":
        labtrans = pm.CoxTime.label_transform()
        y = labtrans.fit_transform(d, e)
        net = MLPVanillaCoxTime(N_FEATURES, [16, 16], activation=activation)
        model = pm.CoxTime(net, tt.optim.Adam(0.01), labtrans=labtrans)
        model.fit(x, y, batch_size=64, epochs=2, verbose=False)
        captum_surv.compute_coxtime_baseline_hazards(model, set_hazards=True)
    elif kind == "logistic_hazard":
        labtrans = pm.LogisticHazard.label_transform(8)
        y = labtrans.fit_transform(d, e)
        model = pm.LogisticHazard(
            mlp(labtrans.out_features, activation),
            tt.optim.Adam(0.01),
            duration_index=labtrans.cuts,
        )
        model.fit(x, y, batch_size=64, epochs=2, verbose=False)
    elif kind == "pchazard":
        labtrans = pm.PCHazard.label_transform(6)
        y = labtrans.fit_transform(d, e)
        model = pm.PCHazard(
            mlp(labtrans.out_features, activation),
            tt.optim.Adam(0.01),
            duration_index=labtrans.cuts,
            sub=2,
        )
        model.fit(x, y, batch_size=64, epochs=2, verbose=False)
    elif kind == "deephit":
        labtrans = LabTransDiscreteTime(6)
        idx, _ = labtrans.fit_transform(d, e)
        cause = (e * rng.integers(1, 3, size=len(e))).astype(np.int64)
        model = pm.DeepHit(
            _DeepHitNet(2, 6, activation), tt.optim.Adam(0.01), duration_index=labtrans.cuts
        )
        model.fit(x, (idx.astype(np.int64), cause), batch_size=64, epochs=2, verbose=False)
    elif kind == "two_input":
        labtrans = pm.LogisticHazard.label_transform(6)
        y = labtrans.fit_transform(d, e)
        model = pm.LogisticHazard(
            _TwoInputNet(labtrans.out_features), tt.optim.Adam(0.01), duration_index=labtrans.cuts
        )
        model.fit((x[:, :3], x[:, 3:]), y, batch_size=64, epochs=2, verbose=False)
        return model, (torch.from_numpy(x[:, :3].copy()), torch.from_numpy(x[:, 3:].copy()))
    else:
        raise ValueError(kind)
    return model, torch.from_numpy(x.copy())


# --------------------------------------------------------------------------- any network
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


def wrap(kind: str, net: nn.Module, x_train, n_cuts: int = 6, seed: int = 0):
    """An untrained pycox model of ``kind`` around any ``net``, ready for ``from_pycox``.

    ``x_train`` (a tensor or a tuple of tensors, the network's inputs) gives the rows for
    the baseline hazards of ``"coxph"`` and ``"coxtime"``; durations and events are
    simulated. ``"logistic_hazard"`` uses ``n_cuts`` cuts.
    """
    rows = (x_train if isinstance(x_train, tuple) else (x_train,))[0].shape[0]
    _, d, e, _ = simulate(n=rows, seed=seed)
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
