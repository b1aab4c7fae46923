"""SurvivalForward: a differentiable survival model with time points as output columns."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from captum_surv import time_grid
from captum_surv.outputs import EVENT_SPECIFIC_OUTPUTS, check_output


def freeze(net: nn.Module) -> nn.Module:
    """Return a deep copy of ``net`` in eval mode with every parameter frozen."""
    frozen = copy.deepcopy(net)
    frozen.eval()
    for param in frozen.parameters():
        param.requires_grad_(False)
    return frozen


class _NetVariants:
    """Copies of one frozen network in other dtypes/devices, shared by derived forwards."""

    def __init__(self) -> None:
        self._cache: dict[tuple[torch.dtype, torch.device], nn.Module] = {}

    def get(self, net: nn.Module, dtype: torch.dtype, device: torch.device) -> nn.Module:
        param = next(iter(net.parameters()), None)
        if param is None or (param.dtype == dtype and param.device == device):
            return net
        key = (dtype, device)
        if key not in self._cache:
            self._cache[key] = freeze(net).to(device=device, dtype=dtype)
        return self._cache[key]


class SurvivalForward(nn.Module):
    """A survival model as a Captum-compatible forward function.

    ``forward(*inputs)`` takes exactly what the wrapped network takes (one tensor, or several
    for multi-input networks) and returns a ``[batch, n_times]`` tensor whose column ``k`` is
    :attr:`output` at time ``times[k]``. Column ``k`` is Captum's ``target=k``.

    The network is a frozen, eval-mode deep copy of the user's network: the user's model is
    never modified, and later training of it does not change this forward (build a new one
    with :func:`~captum_surv.from_pycox`). Layer attribution methods must therefore use layers
    of :attr:`net`, e.g. ``LayerIntegratedGradients(fwd, fwd.net.net[0])``.

    Float32 and float64 inputs are supported; float64 inputs run through a float64 copy of the
    network, so finite differences and quadrature can be checked at high precision.

    Do not instantiate this class directly: use :func:`~captum_surv.from_pycox`.

    Attributes:
        net: The frozen network.
        times: 1-D float64 tensor of the time points, in the model's original time units.
        output: The output selector, see :mod:`captum_surv.outputs`.
        event: Competing-risks cause index (DeepHit) or ``None``.
        interpolation: How the grid is read off the native grid, see
            :data:`captum_surv.time_grid.INTERPOLATIONS`.
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
        grid = time_grid.resolve_times(
            times, self._native_times, self._upper_time, self.clamp, self.model_name
        )
        self._lookup = time_grid.lookup(grid, self._native_times, interpolation)
        self.register_buffer("times", torch.as_tensor(grid, dtype=torch.float64))
        self._setup()

    # ----------------------------------------------------------------- family hooks
    def _setup(self) -> None:
        """Precompute grid-dependent buffers (override in families)."""

    def _compute(self, net: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        raise NotImplementedError

    def _check_event(self, event: int | None) -> int | None:
        if event is not None:
            raise ValueError(
                f"event={event!r} was given, but {self.model_name} is a single-event model; "
                "event selects a cause only for DeepHit with competing risks. Leave event=None."
            )
        return None

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
        net, checked = self._prepare(inputs)
        return self._compute(net, checked)

    def _prepare(self, inputs: tuple[Any, ...]) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
        """Validate inputs; pick the network copy for their dtype; move them to its device."""
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
        return time_grid.time_index(self.times.cpu().numpy(), t, nearest)

    def with_output(self, output: str, event: int | None = None) -> SurvivalForward:
        """A forward for another output on the same time grid, sharing :attr:`net`.

        Args:
            output: The output name, see :mod:`captum_surv.outputs`.
            event: Cause index for competing-risks models (default: keep the current one).
        """
        return self._derive(output=output, event=self.event if event is None else event)

    def with_times(
        self, times: object, interpolation: str | None = None, clamp: bool = False
    ) -> SurvivalForward:
        """A forward on another time grid, sharing :attr:`net`.

        Args:
            times: ``None``, an ``int`` or an array, as in :func:`~captum_surv.from_pycox`.
            interpolation: Interpolation scheme (default: keep the current one).
            clamp: Use the last defined value for times past the model's range.
        """
        return self._derive(
            times=times, interpolation=interpolation or self.interpolation, clamp=clamp
        )

    def _derive(self, **overrides: Any) -> SurvivalForward:
        kwargs: dict[str, Any] = {
            "native_times": self._native_times,
            "upper_time": self._upper_time,
            "n_inputs": self.n_inputs,
            "input_shapes": self.input_shapes,
            "output": self.output,
            "times": self.times.cpu().numpy(),
            "event": self.event,
            "interpolation": self.interpolation,
            "clamp": self.clamp,
            "net_variants": self._net_variants,
            **self._family,
        }
        kwargs.update(overrides)
        derived = type(self)(self.net, **kwargs)
        return derived.to(self.times.device)

    def train(self, mode: bool = True) -> SurvivalForward:
        """Keep the network in eval mode whatever ``mode`` is (explanations use eval mode)."""
        super().train(mode)
        self.net.eval()
        return self

    def extra_repr(self) -> str:
        event = "" if self.event is None else f", event={self.event}"
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
            if isinstance(x, np.ndarray):
                x = torch.from_numpy(np.array(x, copy=True))
            if not isinstance(x, torch.Tensor):
                raise TypeError(
                    f"Input {i} is a {type(x).__name__}; pass torch tensors "
                    "(e.g. torch.as_tensor(df.to_numpy(), dtype=torch.float32))."
                )
            if x.dim() == 0:
                raise ValueError(f"Input {i} is a scalar; inputs need a batch dimension first.")
            tensors.append(x)
        batch = tensors[0].shape[0]
        if batch == 0:
            raise ValueError("Empty batch: the inputs have 0 rows; pass at least one instance.")
        for i, x in enumerate(tensors):
            if x.shape[0] != batch:
                raise ValueError(
                    f"Input tensors have different batch sizes ({batch} and {x.shape[0]} for "
                    f"input {i}); every input needs one row per instance."
                )
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
                if not torch.isfinite(x).all():
                    raise ValueError(
                        f"Input {i} contains NaN or inf values; impute or drop them before "
                        "explaining the model."
                    )
        return tuple(tensors)

    # ----------------------------------------------------------------- helpers
    def _run_net(self, net: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
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


def needs_event(output: str) -> bool:
    """Whether an output describes a single cause of a competing-risks model."""
    return output in EVENT_SPECIFIC_OUTPUTS
