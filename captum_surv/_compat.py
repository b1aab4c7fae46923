"""The only module that touches private names of Captum or pycox.

Extensions that imported library internals broke between releases; keeping every such
import here makes an upgrade a one-file change.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Iterator
from typing import Any

from pycox.models import cox as _pycox_cox


def is_pycox_proportional_hazards(model: Any) -> bool:
    """True for pycox's CoxPH and CoxPHSorted (their common base class is private)."""
    return isinstance(model, _pycox_cox._CoxPHBase)


@functools.lru_cache(maxsize=64)
def integration_nodes(scheme: str, n_steps: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Captum's integration nodes and weights, so IntGrad(t) matches IntegratedGradients.

    Args:
        scheme: Captum's ``method`` name ("gausslegendre", "riemann_trapezoid", ...).
        n_steps: Number of nodes.

    Returns:
        ``(alphas, weights)`` on [0, 1]; the weights sum to 1. Cached per
        ``(scheme, n_steps)`` (Gauss-Legendre nodes cost about 2 ms each time).
    """
    from captum.attr._utils.approximation_methods import approximation_parameters

    step_sizes, alphas = approximation_parameters(scheme)
    return tuple(alphas(n_steps)), tuple(step_sizes(n_steps))


# --------------------------------------------------------------------------- Captum
# Captum's private helpers are imported lazily: importing captum_surv must not import the
# whole of Captum. The functions below were written against captum 0.9.


def captum_run_forward(
    forward_fn: Any,
    inputs: Any,
    target: Any = None,
    additional_forward_args: Any = None,
) -> Any:
    """Captum's ``_run_forward``: call ``forward_fn`` as Captum does and select ``target``."""
    from captum._utils.common import _run_forward

    return _run_forward(forward_fn, inputs, target, additional_forward_args)


def captum_select_targets(output: Any, target: Any) -> Any:
    """Captum's ``_select_targets`` (int, tuple, per-example list or tensor targets)."""
    from captum._utils.common import _select_targets

    return _select_targets(output, target)


def captum_default_gradient_func() -> Any:
    """Captum's default ``gradient_func`` (``captum._utils.gradient.compute_gradients``)."""
    from captum._utils.gradient import compute_gradients

    return compute_gradients


def captum_layer_gradient_func() -> Any:
    """Captum's ``compute_layer_gradients_and_eval``, which its layer methods call."""
    from captum._utils.gradient import compute_layer_gradients_and_eval

    return compute_layer_gradients_and_eval


def summed_gradients(
    forward_fn: Any,
    inputs: Any,
    target_ind: Any = None,
    additional_forward_args: Any = None,
) -> tuple[Any, ...]:
    """Drop-in for Captum's ``compute_gradients`` with one backward of the summed outputs.

    Captum differentiates ``torch.unbind(outputs)``, one autograd root per row. When rows
    are independent (a network in eval mode) the gradient of the sum is the same per row,
    and one root is much faster for many rows.
    """
    import torch

    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    with torch.autograd.set_grad_enabled(True):
        outputs = captum_run_forward(forward_fn, inputs, target_ind, additional_forward_args)
        if outputs[0].numel() != 1:
            raise AssertionError(
                "Target not provided when necessary, cannot take gradient with respect to "
                "multiple outputs."
            )
        grads = torch.autograd.grad(outputs.sum(), inputs, allow_unused=True)
    return tuple(
        torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads, strict=True)
    )


@contextlib.contextmanager
def summed_layer_gradients(layer_attribution: Any) -> Iterator[bool]:
    """Make ``LayerIntegratedGradients`` take one backward of its summed selected outputs.

    ``LayerIntegratedGradients.attribute`` builds a fresh gradient function on every call
    (``_make_gradient_func``), which differentiates ``torch.unbind(output)``. Within this
    context the instance's factory is wrapped: while its gradient function runs, the
    instance's ``forward_func`` is swapped for one returning the sum of the selected
    outputs as a one-element tensor, and the target is passed as ``None``. Yields whether
    the patch could be applied (if Captum's internals changed, nothing is patched and the
    attribution keeps Captum's own, slower, gradient path).
    """
    original_make = getattr(type(layer_attribution), "_make_gradient_func", None)
    if original_make is None or "_make_gradient_func" in vars(layer_attribution):
        yield False
        return

    def make_gradient_func(*args: Any, **kwargs: Any) -> Any:
        inner = original_make(layer_attribution, *args, **kwargs)

        def gradient_func(
            forward_fn: Any,
            inputs: Any,
            target_ind: Any = None,
            additional_forward_args: Any = None,
        ) -> Any:
            forward = layer_attribution.forward_func

            def summed(*forward_args: Any) -> Any:
                out = captum_select_targets(forward(*forward_args), target_ind)
                return out.sum().reshape(1)

            layer_attribution.forward_func = summed
            try:
                return inner(forward_fn, inputs, None, additional_forward_args)
            finally:
                layer_attribution.forward_func = forward

        return gradient_func

    layer_attribution._make_gradient_func = make_gradient_func
    try:
        yield True
    finally:
        del layer_attribution._make_gradient_func


@contextlib.contextmanager
def summed_layer_gradient_calls(attributions: Any) -> Iterator[bool]:
    """Make Captum's layer/neuron methods take one backward of their summed selected outputs.

    Captum's layer methods (LayerConductance, InternalInfluence, LayerGradCam, ...) call the
    module-level ``compute_layer_gradients_and_eval`` imported into their own modules, which
    differentiates ``torch.unbind(output)``: one autograd root per row. Within this context
    that name, in the modules defining the given attributions' classes, is replaced by a
    wrapper that selects the targets itself and hands Captum a forward returning their sum
    (a one-element tensor) with ``target=None``. Rows are independent (eval-mode network),
    so the layer gradients are the same. The original is restored on exit. Yields whether
    anything was patched (nothing if Captum's internals changed).

    Not thread-safe: other calls of those Captum modules in the same process see the patch
    while the context is open.
    """
    import sys

    from captum._utils import gradient as captum_gradient

    original = getattr(captum_gradient, "compute_layer_gradients_and_eval", None)
    modules = []
    for attribution in attributions:
        for cls in type(attribution).__mro__:
            module = sys.modules.get(cls.__module__)
            if (
                module is not None
                and getattr(module, "compute_layer_gradients_and_eval", None) is original
                and module not in modules
            ):
                modules.append(module)
    if original is None or not modules:
        yield False
        return

    def summed_call(
        forward_fn: Any,
        layer: Any,
        inputs: Any,
        target_ind: Any = None,
        additional_forward_args: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        def summed(*forward_args: Any) -> Any:
            return captum_select_targets(forward_fn(*forward_args), target_ind).sum().reshape(1)

        def summed_no_args() -> Any:  # Captum calls argument-free forwards without inputs
            return captum_select_targets(forward_fn(), target_ind).sum().reshape(1)

        takes_none = not inspect.signature(forward_fn).parameters
        return original(
            summed_no_args if takes_none else summed,
            layer,
            inputs,
            None,
            additional_forward_args,
            *args,
            **kwargs,
        )

    for module in modules:
        module.compute_layer_gradients_and_eval = summed_call
    try:
        yield True
    finally:
        for module in modules:
            module.compute_layer_gradients_and_eval = original
