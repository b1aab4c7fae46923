"""from_module(): build a SurvivalForward from a plain torch network.

For networks trained outside pycox (by hand, with torchsurv's losses, ...). The ``kind``
says what the network's outputs mean; each kind reuses the family class that already does
the mathematics for the matching pycox model, or a parametric family.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from captum_surv._validation import positive_int
from captum_surv.models.base import SurvivalForward, forward_options, freeze
from captum_surv.models.cox import CoxForward
from captum_surv.models.coxtime import CoxTimeForward, risk_set_sums
from captum_surv.models.deephit import DeepHitForward
from captum_surv.models.discrete import LogisticHazardForward, PMFForward
from captum_surv.models.parametric import (
    ExponentialForward,
    LogLogisticForward,
    LogNormalForward,
    ParametricForward,
    WeibullForward,
)

Data = tuple[tuple[torch.Tensor, ...], np.ndarray, np.ndarray]


@dataclass(frozen=True)
class ModuleKind:
    """One entry of :data:`KINDS`: what ``net`` returns and how the forward is built.

    Attributes:
        network: What the network computes, for docs and error messages.
        build: ``build(net, spec, options) -> SurvivalForward``; ``spec`` holds the input
            specification, ``options`` the user's keyword arguments.
        forward_class: The family class, for parametric kinds.
    """

    network: str
    build: Callable[[nn.Module, dict[str, Any], dict[str, Any]], SurvivalForward]
    forward_class: type[SurvivalForward] | None = None


# ----------------------------------------------------------------------------- builders
def _cox(net: nn.Module, spec: dict[str, Any], options: dict[str, Any]) -> SurvivalForward:
    baseline, data = options["baseline"], options["data"]
    if baseline is not None:
        jumps, increments, upper = _given_baseline(baseline, "cox")
    else:
        if data is None:
            raise _missing_baseline("cox")
        g = _log_risks(net, data[0], options["batch_size"])
        jumps, increments = breslow(g, data[1], data[2])
        upper = float(data[1].max())
    return CoxForward(
        net,
        native_times=jumps,
        upper_time=upper,
        native_cumhazard=np.cumsum(increments),
        **spec,
        **options["common"],
    )


def _coxtime(net: nn.Module, spec: dict[str, Any], options: dict[str, Any]) -> SurvivalForward:
    scale = TimeScale(options["time_transform"])
    baseline, data = options["baseline"], options["data"]
    if baseline is not None:
        jumps, increments, upper = _given_baseline(baseline, "coxtime")
    else:
        if data is None:
            raise _missing_baseline("coxtime")
        jumps, increments = _coxtime_breslow(net, data, scale, options["batch_size"])
        upper = float(data[1].max())
    scaled = scale.forward(jumps)
    if np.any(np.diff(scaled) <= 0) or not np.all(np.isfinite(scaled)):
        raise ValueError(
            "time_transform must map increasing times to finite, increasing network time "
            "inputs (e.g. a standardisation or log1p); it did not on the event times."
        )
    return CoxTimeForward(
        net,
        native_times=jumps,
        upper_time=upper,
        scaled_native=scaled,
        native_hazard=increments,
        labtrans=scale,
        **spec,
        **options["common"],
    )


def _discrete(cls: type[SurvivalForward]) -> Callable[..., SurvivalForward]:
    def build(net: nn.Module, spec: dict[str, Any], options: dict[str, Any]) -> SurvivalForward:
        cuts = _cuts(options["cuts"], options["kind"])
        return cls(
            net,
            native_times=cuts,
            upper_time=float(cuts[-1]),
            raw_shape=(len(cuts),),
            **spec,
            **options["common"],
        )

    return build


def _competing(net: nn.Module, spec: dict[str, Any], options: dict[str, Any]) -> SurvivalForward:
    cuts = _cuts(options["cuts"], "competing_pmf")
    n_risks, data = options["n_risks"], options["data"]
    if n_risks is None:
        if data is None:
            raise ValueError(
                "kind='competing_pmf' needs the number of competing risks: pass n_risks=R "
                "(the network returns [batch, R, n_cuts]) or data=(x, durations, events)."
            )
        with torch.no_grad():
            out = net(*(x[:2] for x in _on_net(net, data[0])))
        if out.dim() != 3:
            raise ValueError(
                "kind='competing_pmf' expects the network to return [batch, n_risks, "
                f"{len(cuts)}], got shape {tuple(out.shape)}."
            )
        n_risks = int(out.shape[1])
    if isinstance(n_risks, bool) or not isinstance(n_risks, int) or n_risks < 1:
        raise ValueError(f"n_risks={n_risks!r}: pass the number of competing risks, an int >= 1.")
    return DeepHitForward(
        net,
        native_times=cuts,
        upper_time=float(cuts[-1]),
        n_risks=n_risks,
        raw_shape=(n_risks, len(cuts)),
        **spec,
        **options["common"],
    )


def _parametric(cls: type[ParametricForward]) -> Callable[..., SurvivalForward]:
    def build(net: nn.Module, spec: dict[str, Any], options: dict[str, Any]) -> SurvivalForward:
        common = dict(options["common"])
        times, data = common["times"], options["data"]
        if data is not None:
            native = np.unique(data[1][data[2] != 0])
            if native.size == 0:
                raise ValueError("data has no events: its event times cannot be the time grid.")
        elif times is None or isinstance(times, (int, np.integer)):
            raise ValueError(
                f"kind={options['kind']!r} has closed forms at any time but no time grid of its "
                "own: pass times=[...] (positive times, increasing) or data=(x, durations, "
                "events) to use the observed event times."
            )
        else:
            native = np.atleast_1d(np.asarray(_numpy(times), dtype=np.float64))
        return cls(net, native_times=native, upper_time=np.inf, **spec, **common)

    return build


#: The kinds :func:`from_module` accepts. A new family adds one entry here.
KINDS: dict[str, ModuleKind] = {
    "cox": ModuleKind("net(x) -> log-risk g(x), [batch] or [batch, 1]", _cox, CoxForward),
    "coxtime": ModuleKind("net(x, t) -> log-risk g(x, t), [batch, 1]", _coxtime, CoxTimeForward),
    "discrete_hazard": ModuleKind(
        "net(x) -> hazard logits, [batch, n_cuts]",
        _discrete(LogisticHazardForward),
        LogisticHazardForward,
    ),
    "pmf": ModuleKind("net(x) -> pmf logits, [batch, n_cuts]", _discrete(PMFForward), PMFForward),
    "competing_pmf": ModuleKind(
        "net(x) -> joint pmf logits, [batch, n_risks, n_cuts]", _competing, DeepHitForward
    ),
    "weibull": ModuleKind(
        "net(x) -> [batch, 2]: log scale, log shape ([batch, 1]: log shape 0)",
        _parametric(WeibullForward),
        WeibullForward,
    ),
    "exponential": ModuleKind(
        "net(x) -> [batch, 1]: log scale (log mean)",
        _parametric(ExponentialForward),
        ExponentialForward,
    ),
    "lognormal": ModuleKind(
        "net(x) -> [batch, 2]: mu, log sigma of log T",
        _parametric(LogNormalForward),
        LogNormalForward,
    ),
    "loglogistic": ModuleKind(
        "net(x) -> [batch, 2]: log scale, log shape",
        _parametric(LogLogisticForward),
        LogLogisticForward,
    ),
}


def from_module(
    net: nn.Module,
    kind: str,
    *,
    output: str = "survival",
    times: int | Sequence[float] | np.ndarray | torch.Tensor | None = None,
    event: int | None = None,
    baseline: tuple[Any, Any] | None = None,
    data: tuple[Any, Any, Any] | None = None,
    cuts: Sequence[float] | np.ndarray | torch.Tensor | None = None,
    time_transform: Any = None,
    n_risks: int | None = None,
    interpolation: str | None = None,
    clamp: bool = False,
    batch_size: int = 65_536,
    condition_time: float | None = None,
) -> SurvivalForward:
    """Wrap a plain torch survival network as a differentiable ``[batch, n_times]`` forward.

    The counterpart of :func:`~captum_surv.from_pycox` for networks trained without pycox
    (e.g. with torchsurv's losses). The result is used the same way: any Captum algorithm
    with ``target=k`` for time ``times[k]``, :class:`~captum_surv.TimeAttribution`,
    :func:`~captum_surv.explain`. Its network is a frozen, eval-mode deep copy of ``net``:
    ``net`` itself is never modified.

    Kinds (``net``'s outputs; see :data:`KINDS`):

    * ``"cox"``: the log-risk ``g(x)``; ``S(t|x) = exp(-H0(t) exp(g(x)))``. The baseline
      is ``baseline=(jump_times, increments)`` of the cumulative baseline hazard ``H0``, or
      Breslow's estimate from ``data`` (tied event times share one jump ``d / sum exp(g)``
      over the risk set ``{T_i >= t}``, as in pycox and scikit-survival).
    * ``"coxtime"``: ``net(x, t)`` gives ``g(x, t)`` (Cox-Time); the baseline comes from
      ``data`` (Breslow) or ``baseline``. ``time_transform`` maps original times to the
      network's time input (a function of a NumPy array, or pycox's ``LabTransCoxTime``).
    * ``"discrete_hazard"``: logits of the discrete hazard per interval (LogisticHazard,
      nnet-survival); ``"pmf"``: logits of the pmf (PMF, DeepHitSingle); both with ``cuts``.
    * ``"competing_pmf"``: ``[batch, R, n_cuts]`` joint pmf logits (DeepHit); ``event=r``
      selects the cause for ``"cif"``, ``"pmf"``, ``"hazard"``.
    * ``"weibull"`` (log scale, log shape, as torchsurv), ``"exponential"`` (log scale),
      ``"lognormal"`` (mu, log sigma), ``"loglogistic"`` (log scale, log shape): closed-form
      outputs at any time ``t > 0``; see :mod:`captum_surv.models.parametric`.

    Args:
        net: The trained network.
        kind: What the network returns, one of :data:`KINDS`.
        output: The quantity at each time, see :mod:`captum_surv.outputs`. Default
            ``"survival"``. Parametric kinds add ``"hazard_rate"`` and ``"density"``.
        times: ``None`` (default) for the native grid (Cox kinds: the baseline's jump times;
            discrete kinds: ``cuts``; parametric kinds: the event times in ``data``), an
            ``int`` n for n native times, or an increasing array of times.
        event: ``"competing_pmf"`` only: the cause index ``r`` (0-based).
        baseline: Cox kinds: ``(jump_times, increments)`` of the baseline cumulative hazard
            (CoxTime: of ``h0``), in original time units.
        data: ``(x, durations, events)`` with ``x`` a tensor/array (or a tuple of them for a
            multi-input network) of training inputs: the Breslow baseline of the Cox kinds,
            the time grid of the parametric kinds, and the input shapes checked on every call.
        cuts: Discrete kinds: the time of each output column, increasing.
        time_transform: ``"coxtime"`` only: original times -> network time input (default:
            identity).
        n_risks: ``"competing_pmf"`` only, when ``data`` is not given: the number of risks.
        interpolation: Discrete kinds: ``"const_pdf"`` (default), ``"step"``, and for
            ``"discrete_hazard"`` ``"const_hazard"``, as in :func:`~captum_surv.from_pycox`.
        clamp: Give times past the model's last time the value at that time instead of
            raising an error. Default False.
        batch_size: Rows per network call when estimating a baseline from ``data``.
        condition_time: The time ``s`` the patient is known to have survived to, for the
            conditional outputs (``S(t|x) / S(s|x)`` and ``H(t|x) - H(s|x)``; default None).

    Returns:
        A :class:`~captum_surv.SurvivalForward`.

    Raises:
        TypeError: If ``net`` is not a ``torch.nn.Module``.
        ValueError: For an unknown ``kind`` (the message lists the kinds), a missing
            baseline, cuts or times, bad data, NaN weights, wrong network output widths or
            times outside the model's range.

    Example:
        >>> import torch
        >>> net = torch.nn.Linear(3, 2)  # log scale, log shape
        >>> fwd = from_module(net, "weibull", times=[1.0, 2.0, 5.0])
        >>> fwd(torch.zeros(4, 3)).shape
        torch.Size([4, 3])
    """
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(
            f"Unknown kind {kind!r}. from_module accepts: "
            + "; ".join(f"{name!r} ({entry.network})" for name, entry in KINDS.items())
            + "."
        )
    frozen = _checked_net(net)
    parsed = None if data is None else _parse_data(data, kind)
    n_time_inputs = 1 if kind == "coxtime" else 0
    spec = _input_spec(net, parsed, n_time_inputs)
    common = forward_options(
        output=output,
        times=times,
        event=event,
        interpolation=interpolation,
        clamp=clamp,
        condition_time=condition_time,
    )
    if kind != "coxtime" and time_transform is not None:
        raise ValueError("time_transform is only used by kind='coxtime'.")
    if kind not in ("discrete_hazard", "pmf", "competing_pmf") and cuts is not None:
        raise ValueError(
            f"cuts are for the discrete kinds; kind={kind!r} does not use them "
            "(parametric kinds take times=...)."
        )
    if kind not in ("cox", "coxtime") and baseline is not None:
        raise ValueError(f"baseline is for kind='cox' or 'coxtime', not {kind!r}.")
    options = {
        "kind": kind,
        "baseline": baseline,
        "data": parsed,
        "cuts": cuts,
        "time_transform": time_transform,
        "n_risks": n_risks,
        "batch_size": positive_int(batch_size, "batch_size"),
        "common": common,
    }
    forward = KINDS[kind].build(frozen, spec, options)
    if parsed is not None:  # check the output widths now rather than at the first call
        with torch.no_grad():
            forward(*(x[:2] for x in parsed[0]))
    return forward


# ----------------------------------------------------------------------------- helpers
class TimeScale:
    """Original times -> the network's time input, for the ``"coxtime"`` kind.

    Wraps ``None`` (identity), a function of a NumPy array, or an object with pycox's
    label-transform interface ``transform(durations, events) -> (scaled, events)``.
    """

    def __init__(self, transform: Any = None) -> None:
        if transform is not None and not (callable(transform) or hasattr(transform, "transform")):
            raise TypeError(
                "time_transform must be a function of a NumPy array of times, or a fitted "
                f"pycox LabTransCoxTime; got {type(transform).__name__}."
            )
        self._transform = transform

    def forward(self, times: np.ndarray) -> np.ndarray:
        """The network time inputs for original ``times`` (float64)."""
        times = np.asarray(times, dtype=np.float64)
        if self._transform is None:
            return times.copy()
        if hasattr(self._transform, "transform"):
            scaled, _ = self._transform.transform(times, np.zeros(len(times)))
        else:
            scaled = self._transform(times)
        scaled = np.asarray(scaled, dtype=np.float64).reshape(-1)
        if scaled.shape != times.shape:
            raise ValueError(
                f"time_transform returned {scaled.shape[0]} values for {times.shape[0]} times; "
                "it must map each time to one network time input."
            )
        return scaled

    def transform(self, durations: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, Any]:
        """pycox's label-transform interface (used by :class:`CoxTimeForward`)."""
        return self.forward(durations), events


def breslow(
    log_risk: np.ndarray, durations: np.ndarray, events: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Breslow's baseline hazard: jumps ``d_j / sum_{T_i >= t_j} exp(g_i)`` at event times.

    Tied event times share one jump with ``d_j`` events (pycox's and scikit-survival's
    convention); censored instances count in the risk sets of earlier event times.

    Args:
        log_risk: ``g(x_i)``, shape ``[n]``.
        durations: Event or censoring times, shape ``[n]``.
        events: Event indicators (nonzero: event), shape ``[n]``.

    Returns:
        ``(event_times, increments)``: the unique event times and the baseline hazard jump
        at each.
    """
    g = np.asarray(log_risk, dtype=np.float64)
    order = np.argsort(durations, kind="stable")
    d_sorted, e_sorted, g_sorted = durations[order], events[order] != 0, g[order]
    shift = g_sorted.max()
    # risk-set sums, from the end: sum over rows at or after each row's position
    tail = np.cumsum(np.exp(g_sorted - shift)[::-1])[::-1]
    event_times, counts = np.unique(d_sorted[e_sorted], return_counts=True)
    first = np.searchsorted(d_sorted, event_times, side="left")
    increments = counts / tail[first] * np.exp(-shift)
    return event_times, increments


def _coxtime_breslow(
    net: nn.Module, data: Data, scale: TimeScale, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    inputs, durations, events = data
    order = np.argsort(durations, kind="stable")
    d_sorted, e_sorted = durations[order], events[order] != 0
    event_times, counts = np.unique(d_sorted[e_sorted], return_counts=True)
    first = np.searchsorted(d_sorted, event_times, side="left")
    net64 = _float64(net)
    rows = [x[torch.as_tensor(order)] for x in _on_net(net64, inputs)]
    at_risk = risk_set_sums(net64, rows, scale.forward(event_times), first, batch_size)
    return event_times, counts / at_risk


def _log_risks(net: nn.Module, inputs: tuple[torch.Tensor, ...], batch_size: int) -> np.ndarray:
    net64 = _float64(net)
    moved = _on_net(net64, inputs)
    n = moved[0].shape[0]
    chunks = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            out = net64(*(x[start : start + batch_size] for x in moved))
            if out.dim() == 0 or out[0].numel() != 1:
                raise ValueError(
                    "kind='cox' needs one log-risk per instance ([batch] or [batch, 1]); the "
                    f"network returns shape {tuple(out.shape)}."
                )
            chunks.append(out.reshape(-1).double().cpu().numpy())
    g = np.concatenate(chunks)
    if not np.all(np.isfinite(g)):
        raise ValueError("The network's log-risks on data contain NaN or inf.")
    return g


def _float64(net: nn.Module) -> nn.Module:
    """A float64 frozen copy of a frozen network (float64 baselines match pycox's closely)."""
    return freeze(net).to(torch.float64)


def _on_net(net: nn.Module, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    param = next(iter(net.parameters()), None)
    if param is None:
        return inputs
    return tuple(
        x.to(device=param.device, dtype=param.dtype)
        if x.is_floating_point()
        else x.to(param.device)
        for x in inputs
    )


def _checked_net(net: Any) -> nn.Module:
    if not isinstance(net, nn.Module):
        raise TypeError(
            f"from_module expects a torch.nn.Module, got {type(net).__name__}. For a pycox "
            "model use captum_surv.from_pycox(model)."
        )
    bad = [name for name, p in net.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise ValueError(
            f"The network has NaN or inf weights ({', '.join(bad[:3])}"
            f"{', ...' if len(bad) > 3 else ''}); training diverged. Retrain it."
        )
    return freeze(net)


def _numpy(values: Any) -> Any:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return values


def _as_tensor(x: Any, what: str) -> torch.Tensor:
    if hasattr(x, "to_numpy") and not isinstance(x, torch.Tensor):  # pandas
        x = x.to_numpy()
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.array(x, copy=True))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a tensor or an array, got {type(x).__name__}.")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or inf; impute or drop those rows.")
    return x


def _parse_data(data: Any, kind: str) -> Data:
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise ValueError(
            "data must be a tuple (x, durations, events): the training inputs (a tensor, or a "
            "tuple of tensors for a multi-input network), their event or censoring times and "
            "event indicators."
        )
    x, durations, events = data
    xs = tuple(x) if isinstance(x, (tuple, list)) else (x,)
    inputs = tuple(_as_tensor(t, f"data input {i}") for i, t in enumerate(xs))
    n = inputs[0].shape[0] if inputs[0].dim() else 0
    durations = np.asarray(_numpy(durations), dtype=np.float64).reshape(-1)
    events = np.asarray(_numpy(events), dtype=np.float64).reshape(-1)
    if any(t.dim() == 0 or t.shape[0] != n for t in inputs) or not (
        len(durations) == len(events) == n
    ):
        raise ValueError(
            "data's x, durations and events must have the same number of rows, got "
            f"{[tuple(t.shape) for t in inputs]}, {len(durations)} and {len(events)}."
        )
    if n == 0:
        raise ValueError("data has no rows.")
    if not (np.all(np.isfinite(durations)) and np.all(np.isfinite(events))):
        raise ValueError("data's durations or events contain NaN or inf.")
    if np.any(durations < 0):
        raise ValueError("data's durations must be >= 0.")
    if np.any(events < 0) or np.any(events != np.round(events)):
        raise ValueError(
            "data's events must be event indicators (0 censored, 1 event; competing risks: "
            "the cause 1..R)."
        )
    if kind != "competing_pmf" and np.any(events > 1):
        raise ValueError(
            f"data's events must be 0 (censored) or 1 (event) for kind={kind!r}; got the "
            f"values {np.unique(events[events > 1])[:5].tolist()}. Causes 1..R are for "
            "kind='competing_pmf'; for one event type pass (events > 0)."
        )
    if kind in ("cox", "coxtime") and not np.any(events != 0):
        raise ValueError("data has no events, so no baseline hazard can be estimated.")
    return inputs, durations, events


def _input_spec(net: nn.Module, data: Data | None, n_time_inputs: int) -> dict[str, Any]:
    if data is not None:
        shapes = [t.shape[1:] for t in data[0]]
        return {"n_inputs": len(shapes), "input_shapes": shapes}
    params = [
        p
        for p in inspect.signature(net.forward).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    has_varargs = any(
        p.kind == p.VAR_POSITIONAL for p in inspect.signature(net.forward).parameters.values()
    )
    n_inputs = 1 if has_varargs else max(1, len(params) - n_time_inputs)
    return {"n_inputs": n_inputs, "input_shapes": None}


def _cuts(cuts: Any, kind: str) -> np.ndarray:
    if cuts is None:
        raise ValueError(
            f"kind={kind!r} needs cuts=[...]: the time of each of the network's output columns "
            "(e.g. labtrans.cuts of the label transform used for training)."
        )
    arr = np.asarray(_numpy(cuts), dtype=np.float64).reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(np.diff(arr) <= 0):
        raise ValueError("cuts must be a non-empty, finite, strictly increasing array of times.")
    return arr


def _given_baseline(baseline: Any, kind: str) -> tuple[np.ndarray, np.ndarray, float]:
    if not isinstance(baseline, (tuple, list)) or len(baseline) != 2:
        raise ValueError(
            "baseline must be a pair (jump_times, increments) of the baseline hazard, e.g. "
            "(model.baseline_hazards_.index, model.baseline_hazards_.values)."
        )
    times = np.asarray(_numpy(baseline[0]), dtype=np.float64).reshape(-1)
    increments = np.asarray(_numpy(baseline[1]), dtype=np.float64).reshape(-1)
    if times.shape != increments.shape or times.size == 0:
        raise ValueError(
            f"baseline's jump_times and increments must have the same non-zero length, got "
            f"{times.size} and {increments.size}."
        )
    if not (np.all(np.isfinite(times)) and np.all(np.isfinite(increments))):
        raise ValueError("baseline contains NaN or inf.")
    if np.any(np.diff(times) <= 0) or np.any(increments < 0):
        raise ValueError(
            "baseline's jump_times must be strictly increasing and its increments >= 0."
        )
    jumps = increments > 0
    if not jumps.any():
        raise ValueError("baseline's increments are all zero; the baseline hazard never jumps.")
    return times[jumps], increments[jumps], float(times.max())


def _missing_baseline(kind: str) -> ValueError:
    return ValueError(
        f"kind={kind!r} needs a baseline hazard: pass data=(x, durations, events) (the "
        "training data) to estimate it by Breslow's method, or baseline=(jump_times, "
        "increments)."
    )
