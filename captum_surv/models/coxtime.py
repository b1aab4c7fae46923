"""CoxTime: a relative-risk model whose network takes time as an extra input."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pandas as pd
import torch
import torchtuples as tt
from torch import fx, nn
from tqdm.auto import tqdm

from captum_surv._validation import as_tensor
from captum_surv.models.base import SurvivalForward, freeze, has_forward_hooks


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


class FirstLayerSplit:
    """A time-input network whose first layer is ``nn.Linear`` on ``concat(x, t)``.

    ``Linear([x, t]) = (W_x x + b) + W_t t``: the input's part is computed once per row and
    the time's part once per time, instead of once per (row, time) pair. pycox's
    ``MLPVanillaCoxTime`` and any network whose ``forward`` starts with
    ``torch.cat([x, t], dim=1)`` followed by an ``nn.Linear`` have this form (found by
    tracing the network with :mod:`torch.fx`); the rest of the network runs unchanged.

    Attributes:
        linear: The first layer.
        n_features: Columns of ``x`` (the time is column ``n_features``).
    """

    def __init__(self, graph: fx.GraphModule, linear_node: fx.Node, skipped: list[fx.Node]):
        self._graph = graph
        self._linear_node = linear_node
        self._skipped = skipped
        self.linear: nn.Linear = graph.get_submodule(str(linear_node.target))
        self.n_features = self.linear.in_features - 1

    @property
    def graph(self) -> fx.GraphModule:
        """The traced network (it shares the network's modules)."""
        return self._graph

    @property
    def linear_node(self) -> fx.Node:
        """The first layer's node in :attr:`graph`."""
        return self._linear_node

    def first_layer(self, x: torch.Tensor, scaled_times: torch.Tensor) -> torch.Tensor:
        """The first layer's outputs for every row and time, ``[batch * J, width]``.

        Rows are in the order of stacking each row's times together (row-major), as
        :meth:`CoxTimeForward.log_risk_at` stacks them.
        """
        weight, bias = self.linear.weight, self.linear.bias
        pre = torch.nn.functional.linear(x, weight[:, : self.n_features], bias)  # [B, H]
        timed = scaled_times.to(x.dtype)[:, None] * weight[:, self.n_features]  # [J, H]
        return (pre[:, None, :] + timed[None]).reshape(-1, weight.shape[0])

    def rest(self, hidden: torch.Tensor) -> torch.Tensor:
        """The network after its first layer, from the first layer's outputs."""
        env: dict[fx.Node, Any] = dict.fromkeys(self._skipped)
        env[self._linear_node] = hidden
        return fx.Interpreter(self._graph).run(
            *([None] * _n_placeholders(self._graph)), initial_env=env
        )

    def input_jacobian(self, d_hidden: torch.Tensor) -> torch.Tensor:
        """``d g / d x`` from ``d g / d (first layer's outputs)``: ``d_hidden @ W_x``."""
        return d_hidden @ self.linear.weight[:, : self.n_features]


#: (row, time) pairs per evaluation of a network with a split first layer (rows are
#: chunked so that the ``[pairs, width]`` activations stay in cache): on one CPU thread
#: (64x64 network, 1,301 jump times) exact IntGrad(t) ran 2.3x faster in chunks of 4,096
#: to 65,536 pairs than with all 520,000 pairs at once.
PAIRS_PER_CHUNK = 16384


def _n_placeholders(graph: fx.GraphModule) -> int:
    return sum(node.op == "placeholder" for node in graph.graph.nodes)


_SPLITS: weakref.WeakKeyDictionary[nn.Module, FirstLayerSplit | None] = weakref.WeakKeyDictionary()


def first_layer_split(net: object) -> FirstLayerSplit | None:
    """The :class:`FirstLayerSplit` of a time-input network ``net(x, t)``, or None.

    Applies when the traced network concatenates its two inputs ``[x, t]`` (in that order,
    along the feature axis) and feeds the result only to an ``nn.Linear``, and uses the
    inputs nowhere else. Other networks (several inputs, other first layers, networks that
    cannot be traced, dtype-converted copies) get None: they are evaluated on stacked
    ``(row, time)`` pairs. So does a network with forward hooks on it or any of its modules
    while they are registered (Captum's layer methods, DeepLift): the split computes the
    first layer itself and would skip them.
    """
    if not isinstance(net, nn.Module) or has_forward_hooks(net):
        return None
    if net in _SPLITS:
        return _SPLITS[net]
    split = None
    try:
        split = _find_split(fx.symbolic_trace(net))
    except Exception:  # untraceable networks (control flow, unsupported ops): no split
        split = None
    _SPLITS[net] = split
    return split


def _find_split(graph: fx.GraphModule) -> FirstLayerSplit | None:
    placeholders = [n for n in graph.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 2:
        return None
    users = {user for p in placeholders for user in p.users}
    if len(users) != 1:
        return None
    (cat,) = users
    if cat.op != "call_function" or cat.target is not torch.cat:
        return None
    parts = cat.args[0] if cat.args else cat.kwargs.get("tensors")
    dim = cat.args[1] if len(cat.args) > 1 else cat.kwargs.get("dim", 0)
    if list(parts or []) != placeholders or dim not in (1, -1) or len(cat.users) != 1:
        return None
    (linear_node,) = cat.users
    if linear_node.op != "call_module" or linear_node.args != (cat,) or linear_node.kwargs:
        return None
    if not isinstance(graph.get_submodule(str(linear_node.target)), nn.Linear):
        return None
    return FirstLayerSplit(graph, linear_node, [*placeholders, cat])


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
        self.knots = check_knots(self._family.get("knots"))
        used = scaled_native[:n_used]
        if self.knots is None or self.knots >= n_used:
            knot_times, weights = used, None
        else:
            knot_times, weights = knot_interpolation(used, self.knots)
        self.register_buffer("knot_times", torch.as_tensor(knot_times), persistent=False)
        self.register_buffer(
            "knot_weights",
            None if weights is None else torch.as_tensor(weights),
            persistent=False,
        )

    def with_knots(self, knots: int | None) -> CoxTimeForward:
        """An approximate forward that evaluates the network at ``knots`` times only.

        The exact forward evaluates ``g(x, t_j)`` at every jump time ``t_j`` of the baseline
        hazard (thousands for a large training set), for every instance. This one evaluates
        it at ``knots`` jump times spread evenly over the jump times' order (the first and
        last included) and interpolates ``g`` linearly in the network's time input between
        them; outputs and their gradients are those of the interpolated ``g``. With ``knots``
        at least the number of jump times (or ``None``) the forward is exact. Measure the
        error on your model before relying on it: ``benchmarks/bench_engine.py`` reports
        the maximum absolute survival error against the exact forward for a few counts.

        Args:
            knots: Number of knots (an int >= 2), or None for the exact forward.

        Returns:
            A forward sharing :attr:`net`, with the same outputs and time grid.

        Example:
            >>> fast = fwd.with_knots(64)  # doctest: +SKIP
            >>> (fast(x) - fwd(x)).abs().max()  # doctest: +SKIP
        """
        return self._derive(knots=check_knots(knots))

    @property
    def is_approximate(self) -> bool:
        """Whether the network is read at fewer knots than jump times (:meth:`with_knots`)."""
        return self.knot_weights is not None

    def log_risk_at_jumps(self, net: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """``g(x_b, t_j)`` at the used jump times (interpolated between knots if approximate)."""
        return self._at_jumps(self.log_risk_at(net, inputs, self.knot_times))

    def _at_jumps(self, at_knots: torch.Tensor) -> torch.Tensor:
        """Values at the knots (axis 1) -> values at the jump times, linearly interpolated."""
        if self.knot_weights is None:
            return at_knots
        weights = self.knot_weights.to(at_knots.dtype)  # [J, n_knots]
        moved = at_knots.movedim(1, -1)
        return (moved @ weights.t()).movedim(-1, 1)

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
        split = first_layer_split(net) if len(inputs) == 1 and inputs[0].dim() == 2 else None
        if split is not None and split.n_features == inputs[0].shape[1]:
            step = max(1, PAIRS_PER_CHUNK // n_t)  # [pairs, width] activations in cache
            parts = [
                split.rest(split.first_layer(inputs[0][s : s + step], scaled_times))
                for s in range(0, batch, step)
            ]
            return (parts[0] if len(parts) == 1 else torch.cat(parts)).reshape(batch, n_t)
        rows = tuple(x.repeat_interleave(n_t, dim=0) for x in inputs)
        dtype = next((x.dtype for x in inputs if x.is_floating_point()), torch.float32)
        t = scaled_times.to(dtype).repeat(batch).reshape(-1, 1)
        return self._run_net(net, *rows, t).reshape(batch, n_t)

    def _compute(self, net: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        if self.output == "log_risk":
            return self.log_risk_at(net, inputs, self.scaled_grid)
        return self.output_from_log_risk(self.log_risk_at_jumps(net, inputs))

    def network_times(self) -> torch.Tensor:
        """The scaled times at which the output needs ``g(x, s)``: the grid's own times for
        ``"log_risk"``, else the baseline's jump times up to the last grid time."""
        return self.scaled_grid if self.output == "log_risk" else self.knot_times

    def output_from_network(self, raw: torch.Tensor) -> torch.Tensor:
        """``g(x_b, s_j)`` at :meth:`network_times` (``[batch, J]``) -> ``[batch, n_times]``."""
        return raw if self.output == "log_risk" else self.output_from_log_risk(self._at_jumps(raw))

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
        knots = self.knot_weights
        g = self._at_jumps(g)
        n = g.shape[0]
        weight = self.baseline_hazard.to(g.dtype) * torch.exp(g)  # [N, J]
        left = torch.as_tensor(self._lookup.left, device=g.device)
        outputs = self.output_from_log_risk(g)
        native_cumhazard = torch.cumsum(weight, dim=1)
        extended_h = torch.cat([weight.new_zeros((n, 1)), native_cumhazard], 1)
        cumhazard = extended_h.index_select(1, left)
        # H(t_k)' = sum_{j < left_k} h0_j exp(g_j) g_j' = sum_j C_kj g_j' per row: one
        # batched product with C = weight x [j < left_k], [N, T, J] (about 3x faster than a
        # running sum of the [N, J, F] products, which costs more memory traffic). With
        # knots, g_j = sum_i w_ji g(knot_i), so C_ki = sum_{j < left_k} h0_j exp(g_j) w_ji:
        # one matrix product of the weights by a constant [J, T x knots] matrix, and the
        # [N, J, F] Jacobians at the jump times are never formed
        n_jumps = weight.shape[1]
        below = (torch.arange(n_jumps, device=g.device)[None, :] < left[:, None]).to(g.dtype)
        if knots is not None:
            spread = below[:, :, None] * knots.to(g.dtype)[None]  # [T, J, knots]
            constant = spread.permute(1, 0, 2).reshape(n_jumps, -1)
            coefficients = (weight @ constant).view(n, left.shape[0], -1)  # [N, T, knots]
        else:
            coefficients = weight[:, None, :] * below[None]  # [N, T, J]
        result = []
        for d in network_jacobians:
            d_cumhazard = torch.bmm(coefficients, d.flatten(2))  # [N, T, F]
            flat_shape = d_cumhazard.shape[2]
            if self.output == "cumhazard":
                jac = d_cumhazard
            elif self.output == "survival":
                jac = -torch.exp(-cumhazard).unsqueeze(2) * d_cumhazard
            else:  # hazard: increments of the cumulative hazard between grid times
                previous = torch.cat(
                    [d_cumhazard.new_zeros((n, 1, flat_shape)), d_cumhazard[:, :-1]], 1
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


def check_knots(knots: object) -> int | None:
    """Validate the ``knots`` of :meth:`CoxTimeForward.with_knots` (None: exact)."""
    if knots is None:
        return None
    if isinstance(knots, (bool, np.bool_)) or not isinstance(knots, (int, np.integer)):
        raise TypeError(
            f"knots must be an int >= 2 (the number of baseline times at which the network "
            f"is evaluated) or None for the exact forward, got {knots!r}."
        )
    if knots < 2:
        raise ValueError(
            f"knots={knots} is too few: pass an int >= 2 (the first and last jump times are "
            "always knots), or None for the exact forward."
        )
    return int(knots)


def knot_interpolation(times: np.ndarray, knots: int) -> tuple[np.ndarray, np.ndarray]:
    """Knots among increasing ``times`` and the weights that interpolate between them.

    Knots are ``knots`` of the times, evenly spaced in their order (the first and last
    included). Returns ``(knot_times, weights)`` with ``weights[j] @ values_at_knots`` the
    linear interpolation (in time) at ``times[j]``: exact at the knots themselves.
    """
    index = np.unique(np.round(np.linspace(0, len(times) - 1, knots)).astype(np.int64))
    knot_times = times[index]
    right = np.clip(np.searchsorted(knot_times, times, side="left"), 1, len(index) - 1)
    left = right - 1
    span = knot_times[right] - knot_times[left]
    frac = np.where(span > 0, (times - knot_times[left]) / np.where(span > 0, span, 1), 0.0)
    frac = np.clip(frac, 0.0, 1.0)
    weights = np.zeros((len(times), len(index)))
    rows = np.arange(len(times))
    weights[rows, left] += 1 - frac
    weights[rows, right] += frac
    return knot_times, weights


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
