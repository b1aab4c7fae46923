"""SurvivalForward: a differentiable survival model with time points as output columns."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from captum_surv import time_grid
from captum_surv._validation import as_tensor, check_finite, check_rows, check_same_rows
from captum_surv.outputs import CONDITIONAL_OUTPUTS, EVENT_SPECIFIC_OUTPUTS, check_output


def has_forward_hooks(net: nn.Module) -> bool:
    """Whether ``net`` or any of its submodules has forward (or forward pre-) hooks.

    Fast routes that compute some of a network's layers themselves instead of calling the
    modules (CoxTime's first-layer split, layer-by-layer forward mode) would skip such
    hooks (Captum's layer and neuron methods, DeepLift, user hooks); they fall back to
    calling the network when this is True.
    """
    return any(m._forward_hooks or m._forward_pre_hooks for m in net.modules())


def freeze(net: nn.Module) -> nn.Module:
    """Return a deep copy of ``net`` in eval mode with every parameter frozen."""
    frozen = copy.deepcopy(net)
    frozen.eval()
    for param in frozen.parameters():
        param.requires_grad_(False)
    return frozen


class _FunctionalNet:
    """Runs one network module with its parameters and buffers in another dtype/device.

    The *same* module objects are called (through :func:`torch.func.functional_call`), so
    forward hooks and Captum's layer and module hooks registered on the network's layers
    fire whatever the inputs' dtype. No copy of the network is made: a copy would not carry
    hooks registered later, and a copy made while hooks are registered would keep them.
    """

    def __init__(self, net: nn.Module, state: dict[str, torch.Tensor]) -> None:
        self.net = net
        self.state = state

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(self.net, self.state, inputs, strict=False)


class _NetVariants:
    """Converted parameters of one frozen network per dtype/device, shared by derived forwards.

    Floating parameters and buffers are converted once (detached, not requiring grad) and
    cached; the cache is rebuilt if a parameter or buffer was replaced or changed in place.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[torch.dtype, torch.device], tuple[tuple, dict]] = {}

    def get(
        self, net: nn.Module, dtype: torch.dtype, device: torch.device
    ) -> nn.Module | _FunctionalNet:
        named = {**dict(net.named_parameters()), **dict(net.named_buffers())}
        floating = [t for t in named.values() if t.is_floating_point()]
        if all(t.dtype == dtype and t.device == device for t in floating) and all(
            t.device == device for t in named.values()
        ):
            return net
        stamp = tuple((name, id(t), t._version) for name, t in named.items())
        key = (dtype, device)
        cached = self._cache.get(key)
        if cached is None or cached[0] != stamp:
            state = {
                name: t.detach().to(device=device, dtype=dtype)
                if t.is_floating_point()
                else t.detach().to(device=device)
                for name, t in named.items()
            }
            cached = (stamp, state)
            self._cache[key] = cached
        return _FunctionalNet(net, cached[1])


class SurvivalForward(nn.Module):
    """A survival model as a Captum-compatible forward function.

    ``forward(*inputs)`` takes exactly what the wrapped network takes (one tensor, or several
    for multi-input networks) and returns a ``[batch, n_times]`` tensor whose column ``k`` is
    :attr:`output` at time ``times[k]``. Column ``k`` is Captum's ``target=k``.

    The network is a frozen, eval-mode deep copy of the user's network: the user's model is
    never modified, and later training of it does not change this forward (build a new one
    with :func:`~captum_surv.from_pycox`). Layer attribution methods must therefore use layers
    of :attr:`net`, e.g. ``LayerIntegratedGradients(fwd, fwd.net.net[0])``.

    Float32 and float64 inputs are supported. Inputs of another floating dtype than the
    network's run the same network modules with converted copies of its parameters (via
    :func:`torch.func.functional_call`), so hooks registered on :attr:`net`'s layers (DeepLift,
    GuidedBackprop, layer methods) fire in both dtypes, and finite differences and
    quadrature can be checked in float64 on a float32 model.

    Do not instantiate this class directly: use :func:`~captum_surv.from_pycox`.

    Attributes:
        net: The frozen network.
        times: 1-D float64 tensor of the time points, in the model's original time units.
        output: The output selector, see :mod:`captum_surv.outputs`.
        event: Competing-risks cause index (DeepHit) or ``None``.
        interpolation: How the grid is read off the native grid, see
            :data:`captum_surv.time_grid.INTERPOLATIONS`.
        condition_time: The conditioning time ``s`` of the ``"conditional_*"`` outputs, else
            ``None``.
        supported_outputs: Output names this model family defines.
    """

    model_name: str = "survival model"
    supported_outputs: tuple[str, ...] = ()
    interpolations: tuple[str, ...] = ("step",)
    default_interpolation: str = "step"
    times: torch.Tensor

    def __init__(
        self,
        net: nn.Module,
        *,
        native_times: np.ndarray,
        upper_time: float,
        n_inputs: int,
        input_shapes: Sequence[torch.Size] | None,
        output: str = "survival",
        times: object = None,
        event: int | None = None,
        interpolation: str | None = None,
        clamp: bool = False,
        net_variants: _NetVariants | None = None,
        condition_time: float | None = None,
        **family: Any,
    ) -> None:
        super().__init__()
        self.net = net
        self._net_variants = net_variants or _NetVariants()
        self._native_times = np.asarray(native_times, dtype=np.float64)
        self._upper_time = float(upper_time)
        self.n_inputs = n_inputs
        self.input_shapes = None if input_shapes is None else tuple(input_shapes)
        self._family = family
        self.output = check_output(output, self.supported_outputs, self.model_name)
        self.event = self._check_event(event)
        if interpolation is None:
            interpolation = self.default_interpolation
        if interpolation not in self.interpolations:
            raise ValueError(
                f"interpolation={interpolation!r} is not available for {self.model_name}; "
                f"choose one of {list(self.interpolations)}."
            )
        self.interpolation = interpolation
        self.clamp = bool(clamp)
        key = self._time_key()
        grid = time_grid.resolve_times(
            times, self._native_times, self._upper_time, self.clamp, self.model_name, key=key
        )
        # as requested, before clamping: derived forwards re-resolve it (a clamped grid may
        # repeat its last time, which resolve_times would reject)
        self._requested_times = times.detach().cpu().numpy() if torch.is_tensor(times) else times
        self._lookup = time_grid.lookup(grid, self._native_times, interpolation)
        self.register_buffer("times", torch.as_tensor(grid, dtype=torch.float64))
        self.condition_time = self._check_condition_time(condition_time)
        object.__setattr__(self, "_unconditional", None)
        if self.condition_time is not None:
            self._setup_conditional(grid)
        self._setup()

    def _check_condition_time(self, condition_time: object) -> float | None:
        conditional = self.output in CONDITIONAL_OUTPUTS
        if condition_time is None:
            if conditional:
                raise ValueError(
                    f"output={self.output!r} needs the conditioning time: pass "
                    "condition_time=s (the time the patient is known to have survived to)."
                )
            return None
        if not conditional:
            raise ValueError(
                f"condition_time={condition_time!r} was given, but output={self.output!r} is "
                f"not conditional; use output='conditional_survival' or "
                "'conditional_cumhazard', or leave condition_time=None."
            )
        if isinstance(condition_time, bool) or not isinstance(
            condition_time, (int, float, np.integer, np.floating)
        ):
            raise TypeError(f"condition_time must be a number, got {condition_time!r}.")
        value = float(condition_time)
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"condition_time must be a finite time >= 0, got {value!r}.")
        return value

    def _setup_conditional(self, grid: np.ndarray) -> None:
        """The cumulative hazard on the grid plus ``s``, and where to read H(t) and H(s)."""
        s = self.condition_time
        upper = self._upper_time
        key = self._time_key()
        past = (
            s > upper * (1 + 1e-12) + 1e-12
            if key is None
            else key(np.array([s]))[0] > key(np.array([upper]))[0]
        )
        if past:
            if not self.clamp:
                raise ValueError(
                    f"condition_time={s:g} lies past the last time at which {self.model_name} is "
                    f"defined ({upper:g}). Pass condition_time <= {upper:g}, or clamp=True to "
                    "use the value at the last time."
                )
            s_used = upper
        else:
            s_used = s
        # S(0|x) = 1 for every family (survival is 1 before the first native time), so
        # conditioning on s = 0 leaves the output unconditional; parametric families are
        # not even defined at t = 0.
        at_start = s_used == 0.0 and (self._native_times.size == 0 or self._native_times[0] > 0)
        # clamped grids may end with repeated times: read H once per distinct time
        union = np.unique(grid if at_start else np.append(grid, s_used))
        unconditional = self._derive(output="cumhazard", times=union, condition_time=None)
        # a plain attribute, not a submodule: it shares :attr:`net` (see ``_apply``)
        object.__setattr__(self, "_unconditional", unconditional)
        self._grid_index = torch.as_tensor(np.searchsorted(union, grid))
        self._condition_index = None if at_start else int(np.searchsorted(union, s_used))
        self.register_buffer("_after_condition", torch.as_tensor(grid >= s), persistent=False)

    def conditional_from_cumhazard(self, cumhazard: torch.Tensor) -> torch.Tensor:
        """The conditional output from ``H`` on the grid plus ``s`` (last axis)."""
        accrued = self.conditional_from_cumhazard_linear(cumhazard)
        if self.output == "conditional_cumhazard":
            return accrued
        return torch.exp(-accrued)

    def conditional_jacobian(
        self, jacobians: tuple[torch.Tensor, ...], cumhazard: torch.Tensor
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Chain rule from the Jacobians of ``H`` (grid plus ``s``) to the conditional output.

        Args:
            jacobians: ``[N, T', *S]`` per input: ``d H / d x`` on the grid plus ``s``.
            cumhazard: ``[N, T']``, ``H`` there.

        Returns:
            ``(jacobians [N, T, *S] per input, outputs [N, T])``.
        """
        outputs = self.conditional_from_cumhazard(cumhazard)
        result = []
        for jac in jacobians:
            moved = jac.movedim(1, -1)
            d_accrued = self.conditional_from_cumhazard_linear(moved)
            if self.output == "conditional_survival":
                scale = outputs.reshape(*outputs.shape[:1], *([1] * (jac.dim() - 2)), -1)
                d_accrued = -scale * d_accrued
            result.append(d_accrued.movedim(-1, 1))
        return tuple(result), outputs

    def conditional_from_cumhazard_linear(self, values: torch.Tensor) -> torch.Tensor:
        """``values(t) - values(s)`` for ``t >= s``, else 0 (last axis: grid plus ``s``)."""
        index = self._grid_index.to(values.device)
        accrued = values.index_select(-1, index)
        if self._condition_index is not None:  # None: s = 0, where H(s) = 0
            accrued = accrued - values[..., self._condition_index, None]
        return torch.where(self._after_condition, accrued, torch.zeros_like(accrued))

    # ----------------------------------------------------------------- family hooks
    def _setup(self) -> None:
        """Precompute grid-dependent buffers (override in families)."""

    def _time_key(self) -> time_grid.TimeKey | None:
        """How the model compares times (override where the network sees rounded times)."""
        return None

    def _compute(self, net: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        raise NotImplementedError

    def _check_event(self, event: int | None) -> int | None:
        if event is not None:
            raise ValueError(
                f"event={event!r} was given, but {self.model_name} is a single-event model; "
                "event selects a cause only for DeepHit with competing risks. Leave event=None."
            )
        return None

    # ----------------------------------------------------------------- family protocol
    #: What the forward is, for the Jacobian engine (:mod:`captum_surv.attr.jacobian`):
    #:
    #: * ``"network"``: nothing known; the engine differentiates :meth:`forward` as a whole.
    #: * ``"head"``: ``forward(x) = output_from_network(net(x))``, a transform applied to each
    #:   row of the network's outputs; when :attr:`network_rank` is small the Jacobian of all
    #:   time points factors through those few outputs (one backward pass per output).
    #: * ``"time_input"``: the network takes time as its last input; the output is a function
    #:   of ``g(x, s_j)`` at :meth:`network_times`, and :meth:`jacobian_from_network` applies
    #:   the family's chain rule to ``d g(x, s_j) / d x``.
    structure: ClassVar[str] = "network"

    #: Whether :meth:`output_from_network` already applies a ``"conditional_*"`` output's
    #: conditioning (then the engine may differentiate through it directly); otherwise the
    #: engine differentiates :attr:`unconditional_forward` and applies
    #: :meth:`conditional_jacobian`.
    conditions_in_head: ClassVar[bool] = False

    @property
    def unconditional_forward(self) -> SurvivalForward | None:
        """For ``"conditional_*"`` outputs: the cumulative-hazard forward on the grid plus
        the conditioning time that the conditional output is computed from; else None."""
        return self._unconditional

    @property
    def network_rank(self) -> int | None:
        """Network outputs per row that a ``"head"`` output depends on, if few (else None).

        Proportional hazards: 1 (the log-risk); a parametric family: its k parameters. The
        Jacobian of all ``n_times`` columns then has rank at most this per row.
        """
        return None

    def check_inputs(self, *inputs: Any) -> tuple[torch.Tensor, ...]:
        """Validate inputs as :meth:`forward` does (count, shapes, dtypes, finiteness) and
        return them as tensors, unconverted; raises a clear error otherwise."""
        return self._check_inputs(inputs)

    def prepare_inputs(self, *inputs: Any) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
        """Validate inputs as :meth:`forward` does; return the network copy for their dtype
        and the inputs moved to its device and dtype."""
        return self._prepare(inputs)

    def run_network(self, net: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
        """Call ``net`` (from :meth:`prepare_inputs`) with clear errors for misfit inputs."""
        return self._run_net(net, *inputs)

    def output_from_network(self, raw: torch.Tensor) -> torch.Tensor:
        """``"head"`` and ``"time_input"`` families: the network's outputs -> ``[batch, T]``.

        For ``"time_input"`` families ``raw`` is ``g(x_b, s_j)`` shaped ``[batch, J]``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not split off its network.")

    def output_tangents(
        self, raw: torch.Tensor, directions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``"head"`` families, optional: the head's derivatives in closed form.

        Args:
            raw: The network's outputs ``[batch, *R]``.
            directions: ``D`` tangent directions of ``raw``, rows first:
                ``[batch, D, *R]``.

        Returns:
            ``(output_from_network(raw), d_out)`` with ``d_out`` ``[batch, D, n_times]``,
            or None where no closed form is implemented (the engine then uses ``jvp``).
        """
        return None

    def network_times(self) -> torch.Tensor:
        """``"time_input"`` families: the network time inputs ``s_j`` the output needs."""
        raise NotImplementedError(f"{type(self).__name__} has no time input.")

    def jacobian_from_network(
        self, g: torch.Tensor, network_jacobians: tuple[torch.Tensor, ...]
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """``"time_input"`` families: the chain rule from ``d g(x_b, s_j) / d x_b``.

        Args:
            g: ``g(x_b, s_j)``, shape ``[batch, J]``.
            network_jacobians: Per input tensor, ``d g(x_b, s_j) / d x_b`` as
                ``[batch, J, *S]``.

        Returns:
            ``(jacobians, outputs)``: per input ``[batch, T, *S]``, and ``[batch, T]``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no time input.")

    # ----------------------------------------------------------------- public API
    @property
    def n_times(self) -> int:
        """Number of time points (output columns)."""
        return int(self.times.shape[0])

    @property
    def native_times(self) -> torch.Tensor:
        """The model's native time grid (float64, original units)."""
        return torch.as_tensor(self._native_times)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Evaluate the selected output on the time grid.

        Args:
            *inputs: The network's input tensor(s), first dimension the batch.

        Returns:
            Tensor ``[batch, n_times]`` in the inputs' floating dtype.
        """
        if self._unconditional is not None:
            return self.conditional_from_cumhazard(self._unconditional(*inputs))
        net, checked = self._prepare(inputs)
        return self._compute(net, checked)

    def _prepare(self, inputs: tuple[Any, ...]) -> tuple[Any, tuple[torch.Tensor, ...]]:
        """Validate inputs; pick the network (callable) for their dtype; move them to its device.

        The returned network is :attr:`net` itself, or a callable running :attr:`net`'s modules
        with parameters converted to the inputs' dtype; pass it to :meth:`_run_net`.
        """
        checked = self._check_inputs(inputs)
        dtype = _float_dtype(checked)
        device = self.times.device
        net = self._net_variants.get(self.net, dtype, device)
        moved = tuple(
            x.to(device=device, dtype=dtype) if x.is_floating_point() else x.to(device)
            for x in checked
        )
        return net, moved

    def time_index(self, t: object, nearest: bool = False) -> int | torch.Tensor:
        """Column index of a time value on :attr:`times`.

        Args:
            t: A time (returns an ``int``) or an array of times (returns a ``LongTensor``).
            nearest: If False (default), ``t`` must be a grid time (up to rounding);
                if True, the nearest grid time is used.

        Returns:
            The column index, usable as Captum's ``target``.

        Example:
            >>> k = fwd.time_index(365.0)
            >>> IntegratedGradients(fwd).attribute(x, target=k)  # doctest: +SKIP
        """
        return time_grid.time_index(self.times.cpu().numpy(), t, nearest, key=self._time_key())

    def with_output(
        self, output: str, event: int | None = None, *, condition_time: float | None = None
    ) -> SurvivalForward:
        """A forward for another output on the same time grid, sharing :attr:`net`.

        Args:
            output: The output name, see :mod:`captum_surv.outputs`.
            event: Cause index for competing-risks models (default: keep the current one).
            condition_time: The conditioning time ``s`` of ``"conditional_survival"`` and
                ``"conditional_cumhazard"`` (default: keep the current one, if any).

        Example:
            >>> cond = fwd.with_output("conditional_survival", condition_time=1.0)  # doctest: +SKIP
        """
        if output in CONDITIONAL_OUTPUTS and condition_time is None:
            condition_time = self.condition_time
        if output not in CONDITIONAL_OUTPUTS:
            condition_time = None
        return self._derive(
            output=output,
            event=self.event if event is None else event,
            condition_time=condition_time,
        )

    def with_times(
        self, times: object, interpolation: str | None = None, clamp: bool | None = None
    ) -> SurvivalForward:
        """A forward on another time grid, sharing :attr:`net`.

        Args:
            times: ``None``, an integer count or time values, as in
                :func:`~captum_surv.from_pycox`.
            interpolation: Interpolation scheme (default: keep the current one).
            clamp: Use the last defined value for times past the model's range (default:
                keep the current setting).
        """
        return self._derive(
            times=times,
            interpolation=interpolation or self.interpolation,
            clamp=self.clamp if clamp is None else clamp,
        )

    def _derive(self, **overrides: Any) -> SurvivalForward:
        kwargs: dict[str, Any] = {
            "native_times": self._native_times,
            "upper_time": self._upper_time,
            "n_inputs": self.n_inputs,
            "input_shapes": self.input_shapes,
            "output": self.output,
            "times": self._requested_times,
            "event": self.event,
            "interpolation": self.interpolation,
            "clamp": self.clamp,
            "net_variants": self._net_variants,
            "condition_time": self.condition_time,
            **self._family,
        }
        kwargs.update(overrides)
        derived = type(self)(self.net, **kwargs)
        return derived.to(self.times.device)

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> SurvivalForward:
        super()._apply(fn, *args, **kwargs)
        if self._unconditional is not None:
            self._unconditional._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True) -> SurvivalForward:
        """Keep the network in eval mode whatever ``mode`` is (explanations use eval mode)."""
        super().train(mode)
        self.net.eval()
        return self

    def extra_repr(self) -> str:
        event = "" if self.event is None else f", event={self.event}"
        if self.condition_time is not None:
            event += f", condition_time={self.condition_time:g}"
        return (
            f"model={self.model_name}, output={self.output!r}{event}, n_times={self.n_times}, "
            f"interpolation={self.interpolation!r}"
        )

    # ----------------------------------------------------------------- validation
    def _check_inputs(self, inputs: tuple[Any, ...]) -> tuple[torch.Tensor, ...]:
        if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)) and self.n_inputs > 1:
            inputs = tuple(inputs[0])
        if len(inputs) != self.n_inputs:
            raise ValueError(
                f"{self.model_name} network takes {self.n_inputs} input tensor(s), got "
                f"{len(inputs)}. Call the forward as fwd(x) for one input or fwd(x1, x2, ...) "
                "with one tensor per network input."
            )
        tensors = []
        for i, x in enumerate(inputs):
            x, _ = as_tensor(x, f"Input {i}")
            check_rows(x, f"Input {i}")
            tensors.append(x)
        check_same_rows(tensors, "inputs")
        for i, x in enumerate(tensors):
            if self.input_shapes is not None and tuple(x.shape[1:]) != tuple(self.input_shapes[i]):
                raise ValueError(
                    f"Input {i} has per-instance shape {tuple(x.shape[1:])}, but the model was "
                    f"trained on shape {tuple(self.input_shapes[i])} (e.g. the number of "
                    "features). Pass inputs with the training features, in the same order."
                )
            if x.is_floating_point():
                if x.dtype not in (torch.float32, torch.float64):
                    raise TypeError(
                        f"Input {i} has dtype {x.dtype}; use float32 or float64 inputs."
                    )
                check_finite(x, f"Input {i}")
        return tuple(tensors)

    # ----------------------------------------------------------------- helpers
    def check_network_output(self, raw: torch.Tensor, expected: tuple[int, ...]) -> None:
        """Raise a ValueError if the network's per-instance output shape is not ``expected``.

        Args:
            raw: The network's output, batch first.
            expected: The per-instance shape the family needs, e.g. ``(n_cuts,)``.
        """
        if tuple(raw.shape[1:]) != tuple(expected):
            raise ValueError(
                f"The {self.model_name} network returns per-instance shape "
                f"{tuple(raw.shape[1:])}, but {list(expected)} is needed here (e.g. one "
                "column per cut). Check the last layer's width against the time grid."
            )

    def _run_net(self, net: Any, *inputs: torch.Tensor) -> torch.Tensor:
        try:
            return net(*inputs)
        except RuntimeError as err:
            if "dtype" in str(err):
                raise ValueError(
                    f"The inputs' dtypes ({[str(x.dtype) for x in inputs]}) do not fit the "
                    f"{self.model_name} network ({err}). Pass float32 or float64 features."
                ) from err
            if "shape" in str(err) or "size" in str(err):
                raise ValueError(
                    f"The inputs do not fit the {self.model_name} network ({err}). Check the "
                    "number of features and their order against the training data."
                ) from err
            raise


def _float_dtype(inputs: tuple[torch.Tensor, ...]) -> torch.dtype:
    for x in inputs:
        if x.is_floating_point():
            return x.dtype
    return torch.get_default_dtype()


def shift_prev(values: torch.Tensor, first: float) -> torch.Tensor:
    """``values`` shifted one step right along the last axis, ``first`` filled in front."""
    pad = torch.full_like(values[..., :1], first)
    return torch.cat([pad, values[..., :-1]], dim=-1)


def conditional_ratio(mass: torch.Tensor, at_risk: torch.Tensor) -> torch.Tensor:
    """``mass / at_risk`` (a discrete hazard), reported as 1 where ``at_risk`` is 0.

    Survival that has underflowed to 0 makes the ratio 0/0; the event has then certainly
    happened, so the hazard is 1. The safe denominator keeps gradients finite too.
    """
    positive = at_risk > 0
    safe = torch.where(positive, at_risk, torch.ones_like(at_risk))
    return torch.where(positive, mass / safe, torch.ones_like(mass))


def forward_options(
    *,
    output: str,
    times: object,
    event: int | None,
    interpolation: str | None,
    clamp: bool,
    condition_time: float | None,
) -> dict[str, Any]:
    """The keyword arguments every family's constructor shares (from_pycox, from_module)."""
    return {
        "output": output,
        "times": times,
        "event": event,
        "interpolation": interpolation,
        "clamp": clamp,
        "condition_time": condition_time,
    }


def needs_event(output: str) -> bool:
    """Whether an output describes a single cause of a competing-risks model."""
    return output in EVENT_SPECIFIC_OUTPUTS


def network_rows_per_instance(forward: Any) -> int:
    """Network evaluations per input row: 1, or the jump times for time-input families
    (CoxTime's network runs once per instance and jump time)."""
    if getattr(forward, "structure", None) == "time_input":
        return max(1, int(forward.network_times().numel()))
    return 1
