"""TimeAttribution: any Captum attribution over every time point of a survival forward.

It returns what looping the Captum method over ``target=0..n_times-1`` returns, run by the
strategy of :mod:`captum_surv.attr.strategies` with the hooks of
:mod:`captum_surv.attr.captum_protocol` (how the strategies work: ``docs/developer.md``).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from captum.attr import (
    FeaturePermutation,
    LayerIntegratedGradients,
    NoiseTunnel,
)
from torch import nn
from tqdm.auto import tqdm

from captum_surv import _compat
from captum_surv._validation import as_tensors, check_finite, per_input, positive_int
from captum_surv.attr import registry
from captum_surv.attr import strategies as _strategies
from captum_surv.attr.captum_protocol import (
    ForwardReplay,
    GradientReplay,
    HeldFixed,
    RNGState,
    StackedGradients,
    constant_branches_track_gradients,
    delta_partitions,
    forward_slots,
    layer_time_layout,
    per_instance_delta,
    points_per_instance,
    rows_per_stacked_row,
    swap_attribute,
    to_time_layout,
    yield_none,
)
from captum_surv.models.base import SurvivalForward, network_rows_per_instance

__all__ = ["DEFAULT_BATCH_SIZE", "SUPPORTED_ATTRIBUTIONS", "TimeAttribution"]

DEFAULT_BATCH_SIZE = 65_536
"""Default number of network rows (evaluation points x time points) processed together."""

SUPPORTED_ATTRIBUTIONS: tuple[str, ...] = tuple(
    sorted(set(registry.CAPTUM_METHODS) & set(_strategies.captum_attribution_classes()))
)
"""Names of the ``captum.attr`` classes that :class:`TimeAttribution` runs (see
:meth:`TimeAttribution.supported` for the strategy of each)."""

# Arguments of Captum's ``attribute`` that hold one entry per input tensor for tuple inputs.
_PER_INPUT_ARGUMENTS = ("baselines", "feature_mask", "sliding_window_shapes", "strides", "stdevs")


class TimeAttribution:
    """Attributions of a Captum method for every time point of a survival model.

    Wraps an *instantiated* Captum attribution whose forward is a
    :class:`~captum_surv.SurvivalForward` (from :func:`~captum_surv.from_pycox`), like
    Captum's ``NoiseTunnel`` wraps a method. :meth:`attribute` takes the wrapped method's own
    arguments (except ``target``) and returns what looping the method over
    ``target=0, ..., n_times - 1`` returns, stacked on a new axis 1:
    ``[batch, n_times, *input.shape[1:]]`` for a tensor input, a tuple of those for tuple
    inputs, and ``[batch, n_times, *layer.shape[1:]]`` for layer methods
    (``[batch * k, n_times, ...]`` for a layer that sees ``k`` rows per instance, such as
    CoxTime's network, which runs once per instance and jump time).

    Every public ``captum.attr`` attribution class that takes a forward function is
    accepted: :meth:`supported` lists them with their strategy. All strategies give the
    loop's result; seeded random draws are the loop's draws when the loop re-seeds before
    every target, i.e. ``torch.manual_seed(s); np.random.seed(s)`` before each ``target=k``
    call:

    * *stacked rows* (Saliency, InputXGradient, IntegratedGradients, DeepLift, DeepLiftShap,
      GuidedBackprop, Deconvolution, GuidedGradCam, LRP, and the layer methods with a
      target: LayerIntegratedGradients, LayerConductance, InternalInfluence, LayerGradCam,
      LayerGradientXActivation, LayerDeepLift(Shap), LayerLRP, NeuronConductance): each
      instance is repeated once per time point (row ``b * T + t`` with target ``t``;
      per-instance baselines and additional forward arguments alongside) and the method runs
      once per block of rows. Where Captum exposes the gradient function it is replaced for
      the call (and restored, even on error): for the first three it computes the gradients
      of all time points once per distinct evaluation point (through
      :func:`captum_surv.attr.jacobian.output_jacobian`, e.g. one backward pass of the
      log-risk for proportional hazards); for the others it takes one backward pass of the
      summed selected outputs instead of one per row.
    * *gradient replay* (GradientShap, ``NoiseTunnel`` around Saliency, InputXGradient or
      IntegratedGradients): the method runs once per time point with the random number
      generators (torch, numpy, Python) restored to their state at the call, so every pass
      draws the same noise, baselines and interpolation points. The gradient function of the
      first pass computes the gradients of *all* time points at those points and the later
      passes reuse them; Captum's own arithmetic runs unchanged in every pass.
    * *native multi-output* (FeatureAblation, FeaturePermutation, Occlusion,
      ShapleyValueSampling, ShapleyValues, LayerFeatureAblation, LayerFeaturePermutation):
      Captum evaluates every perturbation once for all time points (``target=None``);
      per-instance feature masks are evaluated one instance at a time.
    * *forward replay* (Lime, KernelShap, LimeBase): the interpretable model is fitted once
      per time point (as in the loop), but the perturbations are drawn identically in every
      pass and the forward is evaluated only in the first.
    * *target-free* (LayerActivation and the Neuron methods other than NeuronConductance,
      also inside ``NoiseTunnel``): these explain a neuron or a layer's activation, which
      does not depend on the time point; the method runs once and the result is repeated
      along the time axis.
    * *loop* (LayerGradientShap, ``NoiseTunnel`` around any other method, methods with a
      user-set ``gradient_func`` where no exact shortcut applies, or ``strategy="loop"``):
      one call per time point, the random state restored before each.

    Integer inputs (e.g. category codes for ``nn.Embedding``) cannot be interpolated or
    differentiated: for methods that attribute to the inputs they are held fixed (passed to
    Captum as additional forward arguments) and get zero attributions. Layer methods receive
    them unchanged (attribute to the embedding layer, e.g. with LayerIntegratedGradients).

    Args:
        attribution: An instantiated Captum attribution (e.g. ``IntegratedGradients(fwd)``)
            whose forward function is a :class:`~captum_surv.SurvivalForward`. For layer,
            neuron and Grad-CAM methods the layer must belong to the forward's network
            ``fwd.net`` (a frozen deep copy of the model's network), e.g.
            ``LayerGradCam(fwd, fwd.net.conv)``, not ``model.net.conv``.
        batch_size: The number of network rows (evaluation points x time points, e.g.
            instances x ``n_steps`` x time points for IntegratedGradients) processed together;
            lower it if memory runs out. ``None`` (default) uses
            :data:`DEFAULT_BATCH_SIZE`, divided by the number of network evaluations per row
            for CoxTime (one per baseline jump time). Chunking never changes the result.
        show_progress: Show a tqdm progress bar over the passes/chunks. (A method's own
            ``show_progress`` argument is passed to :meth:`attribute` as usual.)
        strategy: ``None`` or ``"auto"`` (default): the fastest exact strategy of the method
            (:meth:`supported`); ``"loop"``: force the plain loop over time points.

    Raises:
        TypeError: If ``attribution`` is not a supported Captum attribution instance or its
            forward is not a :class:`~captum_surv.SurvivalForward`.
        ValueError: For an unknown ``strategy``, or a layer that is not a module of
            ``fwd.net``.

    Example:
        >>> from captum.attr import IntegratedGradients
        >>> fwd = from_pycox(model, times=20)  # doctest: +SKIP
        >>> ta = TimeAttribution(IntegratedGradients(fwd))  # doctest: +SKIP
        >>> attr, delta = ta.attribute(x, baselines=x.mean(0, keepdim=True),
        ...                            return_convergence_delta=True)  # doctest: +SKIP
        >>> attr.shape, delta.shape  # ([B, 20, F], [B, 20])  # doctest: +SKIP
        >>> TimeAttribution.supported()["LayerGradCam"]
        'stacked rows'
    """

    def __init__(
        self,
        attribution: Any,
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
        strategy: str | None = None,
    ) -> None:
        if isinstance(attribution, type):
            raise TypeError(
                f"TimeAttribution expects an instantiated Captum attribution, got the class "
                f"{attribution.__name__}; pass e.g. {attribution.__name__}(fwd)."
            )
        self.attribution = attribution
        self.strategy, self._inner = self._check_method(attribution)
        if strategy not in (None, "auto", registry.LOOP):
            raise ValueError(
                f"Unknown strategy {strategy!r}: pass None or 'auto' (the fastest exact "
                "strategy of the method) or 'loop' (one Captum call per time point)."
            )
        if strategy == registry.LOOP and self.strategy != registry.TARGET_FREE:
            self.strategy = registry.LOOP
        forward = getattr(attribution, "forward_func", None)
        if not isinstance(forward, SurvivalForward):
            raise TypeError(
                f"The forward function of {type(attribution).__name__} is a "
                f"{type(forward).__name__}, not a captum_surv SurvivalForward. Build the "
                "forward with captum_surv.from_pycox(model, ...) and pass it to the Captum "
                "method, e.g. IntegratedGradients(from_pycox(model))."
            )
        self.forward_func: SurvivalForward = forward
        if batch_size is not None:
            positive_int(batch_size, "batch_size")
        self.batch_size = batch_size
        self.show_progress = bool(show_progress)
        self._check_layers(attribution)

    @staticmethod
    def supported() -> dict[str, str]:
        """The supported ``captum.attr`` classes and the strategy each runs with.

        Returns:
            ``{class name: strategy}``, e.g. ``{"IntegratedGradients": "stacked rows", ...}``;
            :data:`captum_surv.attr.strategies.STRATEGIES` describes each strategy.

        Example:
            >>> TimeAttribution.supported()["KernelShap"]
            'forward replay'
        """
        return dict(_strategies.strategy_table())

    # ----------------------------------------------------------------- properties
    @property
    def times(self) -> torch.Tensor:
        """The time grid of the forward (float64 ``[n_times]``)."""
        return self.forward_func.times

    @property
    def n_times(self) -> int:
        """Number of time points."""
        return self.forward_func.n_times

    @property
    def multiplies_by_inputs(self) -> bool:
        """Whether the wrapped method multiplies by (inputs - baselines)."""
        return bool(getattr(self.attribution, "multiplies_by_inputs", False))

    def has_convergence_delta(self) -> bool:
        """Whether ``return_convergence_delta=True`` is available for the wrapped method."""
        return bool(self.attribution.has_convergence_delta())

    def get_name(self) -> str:
        """A readable name, e.g. ``"TimeAttribution(IntegratedGradients)"``."""
        return f"TimeAttribution({self.attribution.get_name()})"

    def __repr__(self) -> str:
        return (
            f"TimeAttribution({type(self.attribution).__name__}, strategy={self.strategy!r}, "
            f"n_times={self.n_times})"
        )

    # ----------------------------------------------------------------- attribute
    def attribute(
        self, inputs: Any, *args: Any, batch_size: int | None = None, **kwargs: Any
    ) -> Any:
        """Attributions for every time point of the forward.

        Args:
            inputs: The input tensor ``[B, *S]`` or a tuple of input tensors, as for the
                wrapped method.
            *args: Further positional arguments of the wrapped method's ``attribute``
                (after ``inputs``).
            batch_size: Overrides the constructor's ``batch_size`` for this call.
            **kwargs: Keyword arguments of the wrapped method's ``attribute`` (e.g.
                ``baselines``, ``n_steps``, ``additional_forward_args``, ``feature_mask``,
                ``nt_samples``), except ``target``: every time point is a target.

        Returns:
            ``[B, n_times, *S]`` attributions (a tuple for tuple inputs; the layer's shape
            for layer methods). With ``return_convergence_delta=True`` a pair
            ``(attributions, delta)`` with ``delta`` of shape ``[B, n_times]``; for methods
            whose Captum delta has several entries per instance (GradientShap and
            NoiseTunnel: one per sample; DeepLiftShap: one per baseline) it is their mean,
            which is the completeness residual of the returned (averaged) attribution.

        Raises:
            ValueError: For a ``target`` argument, inputs/baselines tuples of the wrong
                length, NaN or infinite values in inputs or baselines, batch-size mismatches,
                or ``return_convergence_delta`` for a method without one.
            TypeError: For non-tensor inputs or arguments the wrapped method does not take.
        """
        method = self.attribution
        if kwargs.get("return_convergence_delta", False) and not method.has_convergence_delta():
            raise ValueError(
                f"{type(method).__name__} has no convergence delta; drop "
                "return_convergence_delta=True."
            )
        call = self._bind(inputs, args, kwargs)
        inputs_tuple, is_tuple = _as_tuple_inputs(call.pop("inputs"))
        n_batch = self._validate(inputs_tuple, call)
        budget = self._budget(batch_size)
        fixed = [i for i, x in enumerate(inputs_tuple) if not x.is_floating_point()]
        if _strategies.attributes_layer(self._inner):
            inputs_tuple = _tracked(inputs_tuple)
        elif fixed:
            return self._with_fixed_inputs(inputs_tuple, fixed, n_batch, call, budget)
        try:
            return self._run(inputs_tuple, is_tuple, n_batch, call, budget)
        except RuntimeError as err:
            rows_per_instance = network_rows_per_instance(self.forward_func)
            if (
                rows_per_instance > 1
                and _strategies.layers_of(self._inner)
                and "is invalid for input of size" in str(err)
            ):
                raise ValueError(
                    f"Captum's {type(self._inner).__name__} cannot attribute a layer that sees "
                    f"several rows per instance: the {self.forward_func.model_name} network "
                    f"runs {rows_per_instance} times per instance (once per baseline jump "
                    "time), and Captum reshapes the layer's rows by the batch size. Use a "
                    "layer method without that reshape (e.g. LayerIntegratedGradients, "
                    "LayerGradientXActivation, LayerDeepLift) or an input attribution."
                ) from err
            raise

    def _run(
        self,
        inputs_tuple: tuple[torch.Tensor, ...],
        is_tuple: bool,
        n_batch: int,
        call: dict[str, Any],
        budget: int,
    ) -> Any:
        inputs_arg = inputs_tuple if is_tuple else inputs_tuple[0]
        if self.strategy == registry.GRADIENT_REPLAY:
            return self._gradient_replay(inputs_arg, n_batch, call, budget)
        if self.strategy == registry.STACKED:
            return self._stacked(inputs_tuple, is_tuple, n_batch, call, budget)
        if self.strategy == registry.MULTI_OUTPUT:
            return self._multi_output(inputs_tuple, is_tuple, n_batch, call, budget)
        if self.strategy == registry.FORWARD_REPLAY:
            return self._forward_replay(inputs_tuple, is_tuple, n_batch, call)
        if self.strategy == registry.TARGET_FREE:
            return self._target_free(inputs_arg, n_batch, call)
        return self._loop(inputs_arg, n_batch, call)

    def _with_fixed_inputs(
        self,
        inputs: tuple[torch.Tensor, ...],
        fixed: list[int],
        n_batch: int,
        call: dict[str, Any],
        budget: int,
    ) -> Any:
        """Integer inputs held fixed: passed as additional forward arguments, zero attributions."""
        varying = [i for i in range(len(inputs)) if i not in fixed]
        if not varying:
            raise ValueError(
                f"Every input is an integer tensor ({[str(x.dtype) for x in inputs]}): "
                f"{type(self._inner).__name__} can neither differentiate nor perturb integer "
                "codes. Attribute to the embedding layer instead, e.g. "
                "LayerIntegratedGradients(fwd, fwd.net.<embedding>), or pass float inputs."
            )
        inner_call = dict(call)
        for name in _PER_INPUT_ARGUMENTS:
            value = call.get(name)
            if isinstance(value, tuple) and len(value) == len(inputs):
                inner_call[name] = tuple(value[i] for i in varying)
        extra = call.get("additional_forward_args")
        extra = () if extra is None else extra if isinstance(extra, tuple) else (extra,)
        inner_call["additional_forward_args"] = tuple(inputs[i] for i in fixed) + extra
        held = HeldFixed(self.forward_func, len(inputs), fixed)
        with contextlib.ExitStack() as stack:
            for owner, name in forward_slots(self.attribution, self.forward_func):
                stack.enter_context(swap_attribute(owner, name, held))
            if _strategies.uses_module_hooks(self._inner):
                stack.enter_context(constant_branches_track_gradients(self.forward_func))
            out = self._run(tuple(inputs[i] for i in varying), True, n_batch, inner_call, budget)
        attributions, rest = (
            (out[0], out[1:])
            if call.get("return_convergence_delta")
            else (
                out,
                None,
            )
        )
        if isinstance(attributions, tuple) and len(attributions) == len(varying):
            reference = attributions[0]
            full: list[torch.Tensor] = []
            given = iter(attributions)
            for i, x in enumerate(inputs):
                if i in fixed:
                    shape = (reference.shape[0], reference.shape[1], *x.shape[1:])
                    full.append(reference.new_zeros(shape))
                else:
                    full.append(next(given))
            attributions = tuple(full)
        return attributions if rest is None else (attributions, *rest)

    # ----------------------------------------------------------------- checks
    @staticmethod
    def _check_method(method: Any) -> tuple[str, Any]:
        supported = ", ".join(SUPPORTED_ATTRIBUTIONS)
        name = type(method).__name__
        captum_class = next(
            (c for c in type(method).__mro__ if c.__module__.startswith("captum.")), None
        )
        reason = (
            None if captum_class is None else _strategies.NOT_APPLICABLE.get(captum_class.__name__)
        )
        if reason is not None:
            raise TypeError(
                f"TimeAttribution does not support {name}: {reason}. Supported Captum "
                f"attributions: {supported}."
            )
        if isinstance(method, NoiseTunnel):
            inner = method.attribution_method
            strategy = _strategies.noise_tunnel_strategy(inner)
            if strategy is None:
                raise TypeError(
                    f"NoiseTunnel around {type(inner).__name__} is not supported by "
                    f"TimeAttribution. Supported Captum attributions: {supported}."
                )
            return strategy, inner
        strategy = _strategies.strategy_of(method)
        if strategy is None:
            raise TypeError(
                f"TimeAttribution does not support {name}. Supported Captum "
                f"attributions: {supported}."
            )
        return strategy, method

    def _check_layers(self, method: Any) -> None:
        owned = {id(m) for m in self.forward_func.modules()}
        for layer in _strategies.layers_of(method):
            if id(layer) in owned:
                continue
            hint = _matching_layer_name(layer, self.forward_func.net)
            where = f"fwd.net.get_submodule({hint!r})" if hint is not None else "fwd.net.<layer>"
            raise ValueError(
                f"The layer {type(layer).__name__} given to {type(method).__name__} is not a "
                "module of the forward's network. fwd.net is a frozen deep copy of the "
                "model's network (the model itself is never hooked or changed), so hooks on "
                "model.net's layers would never fire. Use fwd.net's layers instead, e.g. "
                f"{type(method).__name__}(fwd, {where})."
            )

    def _bind(self, inputs: Any, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
        signature = inspect.signature(self.attribution.attribute)
        try:
            bound = signature.bind(inputs, *args, **kwargs)
        except TypeError as err:
            raise TypeError(
                f"Bad arguments for {type(self.attribution).__name__}.attribute: {err}"
            ) from err
        call: dict[str, Any] = {}
        first = next(iter(signature.parameters))
        for name, value in bound.arguments.items():
            kind = signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                call.update(value)
            elif kind is inspect.Parameter.VAR_POSITIONAL:
                if value:
                    raise TypeError(
                        f"{type(self.attribution).__name__}.attribute got extra positional "
                        "arguments; pass them by keyword."
                    )
            else:
                call["inputs" if name == first else name] = value
        if "target" in call:
            raise ValueError(
                "TimeAttribution covers all targets: it attributes every time point "
                f"(column) of the forward, returning [batch, {self.n_times}, ...]. Drop "
                "target=...; select time points from the result (or pass times=... to "
                "from_pycox / fwd.with_times(...))."
            )
        return call

    def _validate(self, inputs: tuple[torch.Tensor, ...], call: dict[str, Any]) -> int:
        n_batch = inputs[0].shape[0]
        extra = call.get("additional_forward_args")
        n_extra = 0 if extra is None else len(extra) if isinstance(extra, tuple) else 1
        n_inputs = self.forward_func.n_inputs
        if len(inputs) + n_extra != n_inputs:
            given = f"{len(inputs)} input tensor(s)"
            if n_extra:
                given += f" and {n_extra} additional forward argument(s)"
            raise ValueError(
                f"The {self.forward_func.model_name} network takes {n_inputs} input "
                f"tensor(s), got {given}. Pass one tensor per network input: a tuple of "
                f"{n_inputs} tensors for a multi-input network."
            )
        for value in _tensors_in(extra):
            check_finite(value, "additional_forward_args")
        baselines = call.get("baselines")
        if baselines is not None and not callable(baselines):
            base = per_input(baselines, len(inputs), "baselines", "baseline")
            distribution = _strategies.has_distribution_baselines(self._inner) or bool(
                call.get("draw_baseline_from_distrib", False)
            )
            for i, (b, x) in enumerate(zip(base, inputs, strict=True)):
                if isinstance(b, torch.Tensor):
                    check_finite(b, f"baselines[{i}]" if len(base) > 1 else "baselines")
                    if b.dim() == 0:
                        continue
                    if distribution:
                        if tuple(b.shape[1:]) != tuple(x.shape[1:]):
                            raise ValueError(
                                f"Baseline {i} has rows of shape {tuple(b.shape[1:])}, input "
                                f"{i} has rows of shape {tuple(x.shape[1:])}."
                            )
                    elif b.dim() == x.dim() and b.shape[0] not in (1, n_batch):
                        raise ValueError(
                            f"Baseline {i} has {b.shape[0]} rows but the inputs have "
                            f"{n_batch}: pass one baseline row per instance, or a single row "
                            "(shape [1, ...]) shared by all instances."
                        )
                elif isinstance(b, (int, float)) and not np.isfinite(b):
                    raise ValueError(f"Baseline {i} is {b}; baselines must be finite.")
        return n_batch

    def _budget(self, batch_size: int | None) -> int:
        if batch_size is not None:
            positive_int(batch_size, "batch_size")
            return batch_size
        if self.batch_size is not None:
            return self.batch_size
        return max(1, DEFAULT_BATCH_SIZE // network_rows_per_instance(self.forward_func))

    def _progress(self, total: int, desc: str) -> tqdm:
        return tqdm(total=total, disable=not self.show_progress, desc=desc)

    # ----------------------------------------------------------------- strategies
    def _gradient_replay(
        self,
        inputs_arg: Any,
        n_batch: int,
        call: dict[str, Any],
        budget: int,
    ) -> Any:
        """One pass per time point with the RNG restored; gradients for all in the first."""
        method, owner = self.attribution, self._inner
        if owner.gradient_func is not _compat.captum_default_gradient_func():
            # a custom gradient function: keep it, loop (still with aligned draws)
            return self._loop(inputs_arg, n_batch, call)
        n_times = self.n_times
        points = n_batch * points_per_instance(method, call)
        per_chunk = max(1, min(n_times, budget // max(1, points)))
        chunks = [list(range(s, min(s + per_chunk, n_times))) for s in range(0, n_times, per_chunk)]
        rng = RNGState.capture()
        results: list[Any] = [None] * n_times
        original = owner.gradient_func
        try:
            with self._progress(n_times, self.get_name()) as bar:
                for targets in chunks:
                    replay = GradientReplay(targets, budget)
                    owner.gradient_func = replay
                    for j, t in enumerate(targets):
                        rng.restore()
                        replay.start_pass(record=j == 0, target=t)
                        results[t] = method.attribute(inputs_arg, target=t, **call)
                        bar.update()
        finally:
            owner.gradient_func = original
        return _stack_passes(results, n_batch, call, delta_partitions(method, call))

    def _loop(self, inputs_arg: Any, n_batch: int, call: dict[str, Any]) -> Any:
        """The plain loop over targets, re-seeding (restoring the RNG) before each."""
        rng = RNGState.capture()
        results = []
        with self._progress(self.n_times, self.get_name()) as bar:
            for t in range(self.n_times):
                rng.restore()
                results.append(self.attribution.attribute(inputs_arg, target=t, **call))
                bar.update()
        return _stack_passes(results, n_batch, call, delta_partitions(self.attribution, call))

    def _target_free(self, inputs_arg: Any, n_batch: int, call: dict[str, Any]) -> Any:
        """One call (the method takes no target); the result repeated along the time axis."""
        n_times = self.n_times

        def repeat(a: torch.Tensor) -> torch.Tensor:
            return a.unsqueeze(1).expand(a.shape[0], n_times, *a.shape[1:]).clone()

        with self._progress(1, self.get_name()) as bar:
            out = self.attribution.attribute(inputs_arg, **call)
            bar.update()
        if call.get("return_convergence_delta", False):
            attributions, delta = out
            delta = per_instance_delta(delta, n_batch, delta_partitions(self.attribution, call))
            return _map_tensors(repeat, attributions), delta.unsqueeze(1).repeat(1, n_times)
        return _map_tensors(repeat, out)

    def _stacked(
        self,
        inputs: tuple[torch.Tensor, ...],
        is_tuple: bool,
        n_batch: int,
        call: dict[str, Any],
        budget: int,
    ) -> Any:
        """Rows ``b * T + t`` with target ``t``, in blocks of instances x time points."""
        method, n_times = self.attribution, self.n_times
        per_row = rows_per_stacked_row(method, call)
        block_times = max(1, min(n_times, budget // per_row))
        block_batch = max(1, min(n_batch, budget // (per_row * block_times)))
        blocks = [
            (b0, min(b0 + block_batch, n_batch), t0, min(t0 + block_times, n_times))
            for b0 in range(0, n_batch, block_batch)
            for t0 in range(0, n_times, block_times)
        ]
        want_delta = bool(call.get("return_convergence_delta", False))
        baselines = call.get("baselines")
        expand_baselines = not _strategies.has_distribution_baselines(method) and not callable(
            baselines
        )
        device = inputs[0].device
        attributions: Any = None
        delta = None
        gradients = self._stacked_gradients(budget)
        with self._progress(len(blocks), self.get_name()) as bar, gradients as dedupe:
            for b0, b1, t0, t1 in blocks:
                times = torch.arange(t0, t1, device=device)
                instance = torch.arange(b0, b1, device=device).repeat_interleave(t1 - t0)
                chunk_call = dict(call)
                chunk_call["target"] = times.repeat(b1 - b0)
                if expand_baselines and baselines is not None:
                    chunk_call["baselines"] = _take_per_input(baselines, inputs, instance)
                if call.get("additional_forward_args") is not None:
                    chunk_call["additional_forward_args"] = _take_rows(
                        call["additional_forward_args"], n_batch, instance
                    )
                chunk_inputs = tuple(x.detach()[instance] for x in inputs)
                if _strategies.attributes_layer(method):
                    chunk_inputs = _tracked(chunk_inputs)
                if dedupe is not None:
                    dedupe.set_block(list(range(t0, t1)))
                    if call.get("internal_batch_size") is not None:
                        # the user's rows per gradient call, in distinct points
                        chunk_call["internal_batch_size"] = call["internal_batch_size"] * (t1 - t0)
                out = method.attribute(chunk_inputs if is_tuple else chunk_inputs[0], **chunk_call)
                if want_delta:
                    out, chunk_delta = out
                    if delta is None:
                        delta = chunk_delta.new_zeros((n_batch, n_times))
                    delta[b0:b1, t0:t1] = chunk_delta.reshape(b1 - b0, t1 - t0, -1).mean(dim=2)
                n_block = (b1 - b0) * (t1 - t0)
                if attributions is None:  # [B, T, k, ...]: k rows per (instance, time)
                    attributions = _map_tensors(
                        lambda a: a.new_zeros(
                            (n_batch, n_times, a.shape[0] // n_block, *a.shape[1:])  # noqa: B023
                        ),
                        out,
                    )
                _map_tensors(
                    lambda buffer, a: buffer[b0:b1, t0:t1].copy_(  # noqa: B023
                        a.reshape(b1 - b0, t1 - t0, *buffer.shape[2:])  # noqa: B023
                    ),
                    attributions,
                    out,
                )
                bar.update()
        result = _map_tensors(_merge_layer_rows, attributions)
        return (result, delta) if want_delta else result

    def _stacked_gradients(self, budget: int) -> Any:
        """Context for the stacked strategy's gradient functions; yields the dedupe or None.

        Hook-free input-gradient methods get :class:`StackedGradients` (all time points once
        per distinct point); every other gradient function that Captum exposes (on the method
        or its Guided Backprop part) takes one backward pass of the summed selected outputs;
        LayerIntegratedGradients' per-call gradient factory and the layer-gradient function
        of the other layer and neuron methods are patched the same way (see
        :mod:`captum_surv._compat`). A user's own gradient function is kept.
        """
        method = self.attribution
        default = _compat.captum_default_gradient_func()
        if isinstance(method, LayerIntegratedGradients):
            return yield_none(_compat.summed_layer_gradients(method))
        if _strategies.is_hook_free_input_gradient(method):
            if method.gradient_func is not default:
                return contextlib.nullcontext()  # a user's gradient function: keep it
            return swap_attribute(method, "gradient_func", StackedGradients(budget))
        stack = contextlib.ExitStack()
        parts = [p for p in (method, getattr(method, "grad_cam", None)) if p is not None]
        stack.enter_context(_compat.summed_layer_gradient_calls(parts))
        for owner in (method, getattr(method, "guided_backprop", None)):
            if owner is not None and getattr(owner, "gradient_func", None) is default:
                stack.enter_context(
                    swap_attribute(owner, "gradient_func", _compat.summed_gradients)
                )
        return yield_none(stack)

    def _multi_output(
        self,
        inputs: tuple[torch.Tensor, ...],
        is_tuple: bool,
        n_batch: int,
        call: dict[str, Any],
        budget: int,
    ) -> Any:
        """target=None: Captum evaluates each perturbation once for all time points."""
        method, n_times = self.attribution, self.n_times
        per_instance_mask = _has_per_instance_mask(call, inputs, n_batch)
        if per_instance_mask and isinstance(method, FeaturePermutation):
            # Captum's target=None path cannot combine a per-instance mask with a
            # multi-output forward, and permutations mix instances: loop over targets
            return self._loop(inputs if is_tuple else inputs[0], n_batch, call)
        if per_instance_mask and _strategies.is_ablation(method):
            per_chunk = 1  # ablations are per instance; Captum needs one mask row here
        elif isinstance(method, FeaturePermutation) or per_instance_mask:
            # permutes within the batch, or numbers features over the whole mask: never split
            per_chunk = n_batch
        else:
            per_eval = int(call.get("perturbations_per_eval", 1) or 1)
            per_chunk = max(1, budget // per_eval)
        rng = RNGState.capture()
        parts = []
        starts = range(0, n_batch, per_chunk)
        with self._progress(len(starts), self.get_name()) as bar:
            for start in starts:
                index = torch.arange(
                    start, min(start + per_chunk, n_batch), device=inputs[0].device
                )
                chunk_call = dict(call)
                chunk_inputs = inputs
                if len(index) < n_batch:
                    chunk_inputs = tuple(x[index] for x in inputs)
                    chunk_call = _call_for_rows(call, inputs, index)
                rng.restore()  # sampling methods draw the same permutations in every chunk
                out = method.attribute(
                    chunk_inputs if is_tuple else chunk_inputs[0], target=None, **chunk_call
                )
                if _strategies.attributes_layer(method):
                    parts.append(_map_tensors(lambda a: layer_time_layout(a, n_times), out))
                else:
                    parts.append(to_time_layout(out, chunk_inputs, len(index), n_times))
                bar.update()
        return _map_tensors(lambda *p: torch.cat(p), *parts)

    def _forward_replay(
        self,
        inputs: tuple[torch.Tensor, ...],
        is_tuple: bool,
        n_batch: int,
        call: dict[str, Any],
    ) -> Any:
        """Per instance: one pass per time point, perturbations drawn and evaluated once.

        With a per-instance feature mask the whole batch runs as one chunk: Captum numbers
        the interpretable features over the whole mask, so splitting it would change them.
        """
        method, n_times = self.attribution, self.n_times
        forward = method.forward_func
        device = inputs[0].device
        if _has_per_instance_mask(call, inputs, n_batch):
            chunks = [torch.arange(n_batch, device=device)]
        else:
            chunks = [torch.tensor([b], device=device) for b in range(n_batch)]
        per_instance = []
        with self._progress(len(chunks) * n_times, self.get_name()) as bar:
            for index in chunks:
                chunk_inputs = tuple(x[index] for x in inputs)
                chunk_call = _call_for_rows(call, inputs, index)
                cache = ForwardReplay(forward)
                rng = RNGState.capture()
                passes = []
                with swap_attribute(method, "forward_func", cache):
                    for t in range(n_times):
                        rng.restore()
                        cache.start_pass(record=t == 0)
                        passes.append(
                            method.attribute(
                                chunk_inputs if is_tuple else chunk_inputs[0],
                                target=t,
                                **chunk_call,
                            )
                        )
                        bar.update()
                per_instance.append(_map_tensors(lambda *p: torch.stack(p, dim=1), *passes))
        return _map_tensors(lambda *p: torch.cat(p), *per_instance)


# --------------------------------------------------------------------------- small helpers
def _as_tuple_inputs(inputs: Any) -> tuple[tuple[torch.Tensor, ...], bool]:
    """Checked input tensors (numbers, rows, finiteness) and whether they came as a tuple.

    A list is refused: Captum reads a list of tensors differently from a tuple.
    """
    if isinstance(inputs, list):
        raise TypeError(
            "inputs is a list; pass a tensor or a tuple of tensors (use a tuple, not a list)."
        )
    tensors, _, is_tuple = as_tensors(inputs, "inputs")
    return tensors, is_tuple


def _tensors_in(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _tensors_in(v)


def _stack_passes(
    results: list[Any], n_batch: int, call: dict[str, Any], partitions: list[int] | None
) -> Any:
    """Per-target results ``[B, ...]`` -> ``[B, T, ...]`` (and deltas ``[B, T]``)."""
    if call.get("return_convergence_delta", False):
        attributions = [r[0] for r in results]
        deltas = [per_instance_delta(r[1], n_batch, partitions) for r in results]
        return _map_tensors(lambda *p: torch.stack(p, dim=1), *attributions), torch.stack(
            deltas, dim=1
        )
    return _map_tensors(lambda *p: torch.stack(p, dim=1), *results)


def _map_tensors(fn: Callable[..., torch.Tensor], *trees: Any) -> Any:
    """Apply ``fn`` leafwise to structurally equal tensors / tuples / lists of tensors."""
    first = trees[0]
    if isinstance(first, torch.Tensor):
        return fn(*trees)
    if isinstance(first, (tuple, list)):
        mapped = [_map_tensors(fn, *leaves) for leaves in zip(*trees, strict=True)]
        return type(first)(mapped)
    raise TypeError(f"Unexpected attribution output of type {type(first).__name__}.")


def _take_per_input(value: Any, inputs: tuple[torch.Tensor, ...], index: torch.Tensor) -> Any:
    """Rows ``index`` of per-instance tensors (baselines, feature masks), per input."""
    n_batch = inputs[0].shape[0]

    def take(v: Any, x: torch.Tensor) -> Any:
        if (
            isinstance(v, torch.Tensor)
            and v.dim() == x.dim()
            and v.shape[0] == n_batch
            and n_batch > 1
        ):
            return v[index.to(v.device)]
        return v

    if isinstance(value, tuple):
        return tuple(take(v, x) for v, x in zip(value, inputs, strict=True))
    return take(value, inputs[0])


def _call_for_rows(
    call: dict[str, Any], inputs: tuple[torch.Tensor, ...], index: torch.Tensor
) -> dict[str, Any]:
    """The arguments of ``attribute`` for the instances ``index``: their rows of per-instance
    baselines, feature masks and additional forward arguments."""
    chunk_call = dict(call)
    for name in ("baselines", "feature_mask"):
        if call.get(name) is not None:
            chunk_call[name] = _take_per_input(call[name], inputs, index)
    if call.get("additional_forward_args") is not None:
        chunk_call["additional_forward_args"] = _take_rows(
            call["additional_forward_args"], inputs[0].shape[0], index
        )
    return chunk_call


def _take_rows(value: Any, n_batch: int, index: torch.Tensor) -> Any:
    """Rows ``index`` of batch-first tensors in additional forward arguments."""
    if isinstance(value, torch.Tensor):
        if value.dim() > 0 and value.shape[0] == n_batch:
            return value[index.to(value.device)]
        return value
    if isinstance(value, tuple):
        return tuple(_take_rows(v, n_batch, index) for v in value)
    return value


def _merge_layer_rows(result: torch.Tensor) -> torch.Tensor:
    """``[B, T, k, ...]`` -> ``[B, T, ...]`` (k = 1) or ``[B * k, T, ...]``.

    ``k`` is 1 for input attributions. A layer may see several rows per instance (CoxTime's
    network runs once per instance and jump time); the loop's per-target results then have
    ``B * k`` rows in the order (b, j), and so does the result.
    """
    n_batch, n_times, per_row = result.shape[:3]
    if per_row == 1:
        return result.squeeze(2)
    return result.transpose(1, 2).reshape(n_batch * per_row, n_times, *result.shape[3:])


def _matching_layer_name(layer: Any, net: nn.Module) -> str | None:
    """The name of the module of ``net`` equal to ``layer`` (same type and weights), if any."""
    if not isinstance(layer, nn.Module):
        return None
    state = layer.state_dict()
    if not state:  # no weights to recognise it by
        return None
    for name, module in net.named_modules():
        if type(module) is not type(layer) or not name:
            continue
        other = module.state_dict()
        if other.keys() == state.keys() and all(
            other[k].shape == state[k].shape
            and torch.equal(other[k].detach().cpu().double(), state[k].detach().cpu().double())
            for k in state
        ):
            return name
    return None


def _tracked(inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """Floating inputs as detached aliases that require gradients (integer ones unchanged).

    Layer methods differentiate with respect to a layer, not the inputs, but Captum's layer
    DeepLift hooks the tensors entering the network's nonlinear modules, which fails for a
    tensor that requires no gradient, as happens in a frozen network whose input does not
    require one. Values are unchanged; the user's tensors are not modified.
    """
    return tuple(x.detach().requires_grad_() if x.is_floating_point() else x for x in inputs)


def _has_per_instance_mask(
    call: dict[str, Any], inputs: tuple[torch.Tensor, ...], n_batch: int
) -> bool:
    """Whether ``feature_mask`` has one row per instance (not one shared row)."""
    mask = call.get("feature_mask")
    if mask is None or n_batch == 1:
        return False
    masks = mask if isinstance(mask, tuple) else (mask,)
    return any(
        isinstance(m, torch.Tensor) and m.dim() == x.dim() and m.shape[0] == n_batch
        for m, x in zip(masks, inputs, strict=False)
    )
