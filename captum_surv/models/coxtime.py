"""CoxTime: a relative-risk model whose network takes time as an extra input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
import torchtuples as tt
from torch import nn
from tqdm.auto import tqdm

from captum_surv._validation import as_tensor
from captum_surv.models.base import SurvivalForward, freeze


def scale_times(labtrans: Any, times: np.ndarray) -> np.ndarray:
    """Map original times to the network's scaled time input (pycox's ``LabTransCoxTime``).

    The result holds float32 values (as float64), exactly what pycox feeds the network.
    """
    times = np.asarray(times, dtype=np.float64).ravel()
    if times.size == 0:
        return np.zeros(0)
    scaled, _ = labtrans.transform(times, np.zeros(len(times)))
    return np.asarray(scaled, dtype=np.float64)


def original_times(labtrans: Any, scaled: np.ndarray) -> np.ndarray:
    """Map the scaled durations of a CoxTime baseline back to original time units.

    Training durations come from the label transform's exact inverse map. Other durations
    (a baseline computed on validation data, say) cannot be recovered exactly: the scaling
    rounds to float32. For them the result is the smallest time with the given scaled
    value, so that the true event time lies at or after it (within float32 rounding), and
    :meth:`CoxTimeForward.time_index` matches any time with that scaled value.
    """
    scaled = np.asarray(scaled, dtype=np.float64)
    mapped = np.asarray(labtrans.map_scaled_to_orig(scaled), dtype=object)
    missing = np.array([m is None for m in mapped], dtype=bool)
    out = np.empty(len(scaled), dtype=np.float64)
    out[~missing] = mapped[~missing].astype(np.float64)
    if missing.any():
        out[missing] = _invert_scaling(labtrans, scaled[missing])
    return out


def _invert_scaling(labtrans: Any, scaled: np.ndarray) -> np.ndarray:
    """The smallest time whose scaled value is ``scaled`` (float64 inverse where none is).

    pycox casts durations to float32 before scaling, so the times with one scaled value form
    an interval; taking its lower end puts every such time (the true event time included)
    at or after the jump. Found by bisection, the scaling being non-decreasing.
    """
    unscaled = labtrans.duration_scaler.inverse_transform(scaled.reshape(-1, 1)).ravel()
    guess = np.expm1(unscaled) if labtrans.log_duration else unscaled
    width = 1e-5 * np.maximum(np.abs(guess), 1.0)
    lo, hi = guess - width, guess + width
    for _ in range(40):  # widen until scale(lo) < scaled <= scale(hi)
        low_bad = scale_times(labtrans, lo) >= scaled
        high_bad = scale_times(labtrans, hi) < scaled
        if not (low_bad.any() or high_bad.any()):
            break
        width = np.where(low_bad | high_bad, 2 * width, width)
        lo = np.where(low_bad, guess - width, lo)
        hi = np.where(high_bad, guess + width, hi)
    for _ in range(80):  # keep scale(lo) < scaled <= scale(hi)
        mid = lo + (hi - lo) / 2
        above = scale_times(labtrans, mid) >= scaled
        lo, hi = np.where(above, lo, mid), np.where(above, mid, hi)
    ok = scale_times(labtrans, hi) == scaled
    return np.where(ok, hi, guess)


class CoxTimeForward(SurvivalForward):
    """CoxTime: ``dH(t_j|x) = h0(t_j) exp(g(x, t_j))`` at the baseline's jump times ``t_j``.

    ``H(t|x)`` sums the increments over jump times ``<= t`` (step lookup), ``S = exp(-H)``.
    A baseline computed on other data than the training set has jump times that the label
    transform cannot map back exactly (its scaling rounds to float32); each is placed at the
    smallest time with its scaled value, and :meth:`time_index` accepts any time with the
    same scaled value as a jump time.
    Each jump time needs one network evaluation per instance; instances x jump times are
    stacked as rows of one batch. ``log_risk`` is ``g(x, t_k)`` at the grid's own times.
    """

    model_name = "CoxTime"
    supported_outputs = ("survival", "cumhazard", "hazard", "log_risk")
    structure = "time_input"
    scaled_native: torch.Tensor
    baseline_hazard: torch.Tensor
    scaled_grid: torch.Tensor

    def _setup(self) -> None:
        scaled_native = np.asarray(self._family["scaled_native"], dtype=np.float64)
        n_used = int(self._lookup.left.max())
        self.register_buffer(
            "scaled_native", torch.as_tensor(scaled_native[:n_used]), persistent=False
        )
        self.register_buffer(
            "baseline_hazard",
            torch.as_tensor(np.asarray(self._family["native_hazard"])[:n_used]),
            persistent=False,
        )
        scaled_grid = scale_times(self._family["labtrans"], self._lookup.times)
        self.register_buffer("scaled_grid", torch.as_tensor(scaled_grid), persistent=False)

    def _time_key(self) -> Any:
        labtrans = self._family["labtrans"]
        return lambda t: scale_times(labtrans, t)

    def log_risk_at(
        self, net: nn.Module, inputs: tuple[torch.Tensor, ...], scaled_times: torch.Tensor
    ) -> torch.Tensor:
        """``g(x_b, s_j)`` for every instance b and scaled time s_j, shape ``[batch, J]``."""
        batch, n_t = inputs[0].shape[0], scaled_times.shape[0]
        if n_t == 0:
            return inputs[0].new_zeros((batch, 0))
        rows = tuple(x.repeat_interleave(n_t, dim=0) for x in inputs)
        dtype = next((x.dtype for x in inputs if x.is_floating_point()), torch.float32)
        t = scaled_times.to(dtype).repeat(batch).reshape(-1, 1)
        return self._run_net(net, *rows, t).reshape(batch, n_t)

    def _compute(self, net: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if self.output == "log_risk":
            return self.log_risk_at(net, inputs, self.scaled_grid)
        g = self.log_risk_at(net, inputs, self.scaled_native)
        return self.output_from_log_risk(g)

    def network_times(self) -> torch.Tensor:
        """The scaled times at which the output needs ``g(x, s)``: the grid's own times for
        ``"log_risk"``, else the baseline's jump times up to the last grid time."""
        return self.scaled_grid if self.output == "log_risk" else self.scaled_native

    def output_from_network(self, raw: torch.Tensor) -> torch.Tensor:
        """``g(x_b, s_j)`` at :meth:`network_times` (``[batch, J]``) -> ``[batch, n_times]``."""
        return raw if self.output == "log_risk" else self.output_from_log_risk(raw)

    def jacobian_from_network(
        self, g: torch.Tensor, network_jacobians: tuple[torch.Tensor, ...]
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Chain rule through ``H(t_k) = sum_{j <= left_k} h0_j exp(g_j)``.

        Cumulates ``h0_j exp(g_j) d g_j / d x`` over the jump times ``j`` instead of
        materialising the ``[batch, T, J]`` Jacobian of the transform.

        Args:
            g: ``g(x_b, s_j)`` at :meth:`network_times`, ``[batch, J]``.
            network_jacobians: ``d g(x_b, s_j) / d x_b`` per input, ``[batch, J, *S]``.

        Returns:
            ``(jacobians [batch, T, *S] per input, outputs [batch, T])``.
        """
        if self.output == "log_risk":
            return tuple(network_jacobians), g
        n = g.shape[0]
        weight = self.baseline_hazard.to(g.dtype) * torch.exp(g)  # [N, J]
        left = torch.as_tensor(self._lookup.left, device=g.device)
        outputs = self.output_from_log_risk(g)
        native_cumhazard = torch.cumsum(weight, dim=1)
        extended_h = torch.cat([weight.new_zeros((n, 1)), native_cumhazard], 1)
        cumhazard = extended_h.index_select(1, left)
        result = []
        for d in network_jacobians:
            flat = d.flatten(2)  # [N, J, F]; J may be 0 (all times before the first jump)
            running = torch.cumsum(weight.unsqueeze(2) * flat, dim=1)
            extended = torch.cat([running.new_zeros((n, 1, running.shape[2])), running], dim=1)
            d_cumhazard = extended.index_select(1, left)  # [N, T, F]
            if self.output == "cumhazard":
                jac = d_cumhazard
            elif self.output == "survival":
                jac = -torch.exp(-cumhazard).unsqueeze(2) * d_cumhazard
            else:  # hazard: increments of the cumulative hazard between grid times
                previous = torch.cat(
                    [d_cumhazard.new_zeros((n, 1, flat.shape[2])), d_cumhazard[:, :-1]], 1
                )
                jac = d_cumhazard - previous
            result.append(jac.reshape(n, -1, *d.shape[2:]))
        return tuple(result), outputs

    def output_from_log_risk(self, g: torch.Tensor) -> torch.Tensor:
        """Map ``g(x, t_j)`` at the used jump times ``[batch, J]`` to the output."""
        increments = self.baseline_hazard.to(g.dtype) * torch.exp(g)
        native_cumhazard = torch.cumsum(increments, dim=1)
        extended = torch.cat([native_cumhazard.new_zeros((g.shape[0], 1)), native_cumhazard], 1)
        cumhazard = self._lookup.interpolate(extended)
        if self.output == "cumhazard":
            return cumhazard
        if self.output == "hazard":
            previous = torch.cat([cumhazard.new_zeros((g.shape[0], 1)), cumhazard[:, :-1]], 1)
            return cumhazard - previous
        return torch.exp(-cumhazard)


def _frames_to_numpy(data: Any) -> Any:
    """DataFrames (alone or in a tuple) as numpy arrays of their own dtype."""
    if isinstance(data, pd.DataFrame):
        return as_tensor(data, "input")[0].numpy()
    if isinstance(data, (tuple, list)) and any(isinstance(a, pd.DataFrame) for a in data):
        return tuple(
            as_tensor(a, f"input[{i}]")[0].numpy() if isinstance(a, pd.DataFrame) else a
            for i, a in enumerate(data)
        )
    return data


def compute_coxtime_baseline_hazards(
    model: Any,
    input: Any = None,
    target: Any = None,
    max_duration: float | None = None,
    batch_size: int = 262_144,
    set_hazards: bool = False,
    show_progress: bool = False,
) -> pd.Series:
    """Breslow baseline hazards of a pycox CoxTime model, vectorised.

    Gives the same values as pycox's ``model.compute_baseline_hazards()`` (to float32
    rounding), which loops in Python over event times. For each event time ``t_j`` it sums
    ``exp(g(x_i, t_j))`` over the risk set; instances x event times are evaluated in large
    batches. The network is evaluated on a frozen eval-mode copy, so the model is unchanged
    (pycox's own computation leaves the network in train mode).

    Args:
        model: A fitted pycox ``CoxTime`` model.
        input: Training inputs (default: ``model.training_data``): arrays, tensors or
            DataFrames (or a tuple of them).
        target: ``(durations, events)`` with durations scaled by the model's label transform,
            as passed to ``fit`` (default: ``model.training_data``).
        max_duration: Only compute hazards up to this scaled duration (default: all).
        batch_size: Maximum rows per network call (bounds memory). Default 262144.
        set_hazards: If True, also set ``model.baseline_hazards_`` and
            ``model.baseline_cumulative_hazards_`` like pycox does. Default False.
        show_progress: Show a tqdm progress bar. Default False.

    Returns:
        ``pd.Series`` of baseline hazards indexed by the unique scaled durations.

    Example:
        >>> base = compute_coxtime_baseline_hazards(model, set_hazards=True)  # doctest: +SKIP
    """
    if (input is None) != (target is None):
        raise ValueError("Pass both input and target, or neither (to use the training data).")
    if input is None:
        if not hasattr(model, "training_data"):
            raise ValueError(
                "The model has no training_data; fit it first or pass input and target."
            )
        input, target = model.training_data
    durations, events = (
        np.asarray(a, dtype=np.float64).ravel() for a in tt.tuplefy(target).to_numpy()
    )
    arrays = [np.asarray(a) for a in tt.tuplefy(_frames_to_numpy(input)).to_numpy().flatten()]
    if np.any(np.diff(durations) < 0):
        order = np.argsort(durations, kind="stable")
        durations, events = durations[order], events[order]
        arrays = [a[order] for a in arrays]
    limit = np.inf if max_duration is None else max_duration
    is_event = (events != 0) & (durations <= limit)
    event_times, first_pos = np.unique(durations[is_event], return_index=True)
    # position (in the sorted data) of the first event row of each event time
    first_pos = np.flatnonzero(is_event)[first_pos]

    net = freeze(model.net)
    device = next(net.parameters()).device
    dtype = next(net.parameters()).dtype  # float64 data runs in the network's precision
    tensors = [torch.as_tensor(np.array(a, copy=True), device=device) for a in arrays]
    tensors = [t.to(dtype) if t.is_floating_point() else t for t in tensors]
    at_risk = risk_set_sums(net, tensors, event_times, first_pos, batch_size, show_progress)
    frame = pd.DataFrame({"duration": durations, "event": events})
    frame = frame[frame["duration"] <= limit]
    counts = frame.groupby("duration")["event"].sum()
    risk = pd.Series(at_risk, index=event_times)
    hazards = (counts / risk.reindex(counts.index)).fillna(0.0)
    hazards.index = hazards.index.astype(np.float32)
    hazards.index.name = getattr(model, "duration_col", "duration")
    hazards = hazards.rename("baseline_hazards")
    if set_hazards:
        model.compute_baseline_cumulative_hazards(set_hazards=True, baseline_hazards_=hazards)
    return hazards


def risk_set_sums(
    net: nn.Module,
    inputs: list[torch.Tensor],
    event_times: np.ndarray,
    first_pos: np.ndarray,
    batch_size: int = 262_144,
    show_progress: bool = False,
) -> np.ndarray:
    """``sum_{i >= first_pos[j]} exp(g(x_i, t_j))`` for each event time ``t_j`` (float64).

    The Breslow denominator of a time-dependent relative-risk model: ``inputs`` are sorted
    by duration, so the risk set of ``t_j`` is every row from ``first_pos[j]`` on.
    Instances x event times are evaluated in blocks of at most ``batch_size`` rows.

    Args:
        net: The (frozen) network ``net(*x, t)``.
        inputs: The network's input tensors, rows sorted by duration.
        event_times: The unique event times, increasing, in the network's time units.
        first_pos: Row of the first instance at risk at each event time.
        batch_size: Maximum rows per network call (bounds memory).
        show_progress: Show a tqdm progress bar.
    """
    param = next(iter(net.parameters()), None)
    device = inputs[0].device if param is None else param.device
    time_dtype = torch.float32 if param is None else param.dtype
    at_risk = np.zeros(len(event_times))
    n_rows = inputs[0].shape[0]
    blocks = []
    start = 0
    while start < len(event_times):
        rows_needed = n_rows - first_pos[start]
        size = max(1, batch_size // max(rows_needed, 1))
        blocks.append((start, min(start + size, len(event_times))))
        start = blocks[-1][1]
    with torch.no_grad():
        for lo, hi in tqdm(blocks, disable=not show_progress, desc="baseline hazards"):
            offset = int(first_pos[lo])
            sub = [t[offset:] for t in inputs]
            n_sub, n_t = sub[0].shape[0], hi - lo
            times = torch.as_tensor(event_times[lo:hi], dtype=time_dtype, device=device)
            rows = [x.repeat(n_t, *([1] * (x.dim() - 1))) for x in sub]  # time-major rows
            t_col = times.repeat_interleave(n_sub).reshape(-1, 1)
            expg = torch.exp(net(*rows, t_col).reshape(n_t, n_sub).double())
            mask = (
                torch.arange(offset, n_rows, device=device)[None, :]
                >= torch.as_tensor(first_pos[lo:hi], device=device)[:, None]
            )
            at_risk[lo:hi] = (expg * mask).sum(dim=1).cpu().numpy()
    return at_risk
