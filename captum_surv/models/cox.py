"""Proportional-hazards models: pycox CoxPH (DeepSurv) and CoxCC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from captum_surv.models.base import SurvivalForward


def finite_baseline(baseline_hazards: pd.Series) -> np.ndarray:
    """Baseline hazard values as float64, rejecting NaN or inf."""
    values = np.asarray(baseline_hazards.to_numpy(), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(
            "The model's baseline hazards contain NaN or inf (did training diverge?); "
            "retrain the model and call model.compute_baseline_hazards() again."
        )
    return values


def breslow_jumps(baseline_hazards: pd.Series) -> tuple[np.ndarray, np.ndarray, float]:
    """Jump times, cumulative baseline hazard at them, and the last defined time.

    pycox indexes baseline hazards by every unique training duration, censor-only times
    included (with increment 0); the native grid keeps only the times where it jumps.
    """
    index = np.asarray(baseline_hazards.index, dtype=np.float64)
    values = finite_baseline(baseline_hazards)
    jumps = values > 0
    if not jumps.any():
        raise ValueError(
            "The model's baseline hazards are all zero (no events?); recompute them with "
            "model.compute_baseline_hazards() on data with events."
        )
    cumulative = np.cumsum(values)
    return index[jumps], cumulative[jumps], float(index.max())


class CoxForward(SurvivalForward):
    """CoxPH / CoxCC: ``S(t|x) = exp(-H0(t) exp(g(x)))`` with the Breslow baseline ``H0``.

    ``times`` are read off the baseline by step lookup: the value at the largest jump time
    ``<= t``, ``S = 1`` before the first jump.
    """

    model_name = "CoxPH"
    supported_outputs = ("survival", "cumhazard", "hazard", "log_risk")
    structure = "head"
    conditions_in_head = True  # output_from_log_risk conditions on s itself
    baseline_cumhazard: torch.Tensor
    baseline_increment: torch.Tensor

    def _setup(self) -> None:
        cumulative = np.concatenate([[0.0], self._family["native_cumhazard"]])
        on_grid = cumulative[self._lookup.left]
        self.register_buffer("baseline_cumhazard", torch.as_tensor(on_grid), persistent=False)
        increment = np.diff(on_grid, prepend=0.0)
        self.register_buffer("baseline_increment", torch.as_tensor(increment), persistent=False)

    def log_risk(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The network's log-risk ``g(x)``, shape ``[batch]``."""
        net, checked = self._prepare(inputs)
        return self.log_risk_from_network(self._run_net(net, *checked))

    def log_risk_from_network(self, out: torch.Tensor) -> torch.Tensor:
        """The network's output ``[batch]`` or ``[batch, 1]`` as log-risks ``[batch]``."""
        if out.dim() == 0 or out[0].numel() != 1:
            raise ValueError(
                f"A {self.model_name} network must return one log-risk per instance ([batch] "
                f"or [batch, 1]), got shape {tuple(out.shape)}."
            )
        return out.reshape(out.shape[0])

    @property
    def network_rank(self) -> int:
        """1: every time point depends on the inputs only through the log-risk ``g(x)``."""
        return 1

    def output_from_network(self, raw: torch.Tensor) -> torch.Tensor:
        """The network's log-risks (``[batch]`` or ``[batch, 1]``) -> ``[batch, n_times]``."""
        return self.output_from_log_risk(self.log_risk_from_network(raw))

    def output_from_log_risk(self, g: torch.Tensor) -> torch.Tensor:
        """Map log-risks ``[batch]`` to the selected output ``[batch, n_times]``."""
        if self._unconditional is not None:
            return self.conditional_from_cumhazard(self._unconditional.output_from_log_risk(g))
        base = self.baseline_cumhazard.to(g.dtype)
        if self.output == "log_risk":
            return g[:, None].expand(-1, self.n_times)
        risk = torch.exp(g)[:, None]
        if self.output == "hazard":
            return self.baseline_increment.to(g.dtype) * risk
        cumhazard = base * risk
        if self.output == "cumhazard":
            return cumhazard
        return torch.exp(-cumhazard)

    def _compute(self, net: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        out = self._run_net(net, *inputs)
        return self.output_from_log_risk(self.log_risk_from_network(out))


class CoxCCForward(CoxForward):
    """CoxCC: same survival transform as CoxPH (case-control training only differs)."""

    model_name = "CoxCC"
