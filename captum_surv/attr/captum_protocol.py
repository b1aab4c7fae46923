"""Captum's call protocol as the TimeAttribution strategies use it: hooks and replays.

A second compatibility surface with Captum, besides :mod:`captum_surv._compat`: nothing
here imports a private Captum name, but everything relies on how Captum *calls* what it is
given: the ``gradient_func(forward_fn, inputs, target_ind, additional_forward_args)``
signature, the order and number of forward and gradient calls within one ``attribute``
call, the ``forward_func``/``model``/``gradient_func`` attributes of its classes, the
random number generators it draws from, the defaults of its ``attribute`` arguments and the
layout of its multi-output results and convergence deltas. A Captum release that changes
one of these shows up as a failure of ``tests/test_captum_coverage.py`` or
``tests/test_time_attribution.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from captum.attr import DeepLift, GradientShap, IntegratedGradients, NoiseTunnel
from torch import nn

from captum_surv import _compat
from captum_surv.attr import strategies as _strategies
from captum_surv.attr.jacobian import output_jacobian
from captum_surv.models.base import SurvivalForward


class RNGState:
    """The state of every random number generator Captum draws from."""

    def __init__(self) -> None:
        self.torch = torch.get_rng_state()
        self.numpy = np.random.get_state()
        self.python = random.getstate()
        self.cuda = (
            torch.cuda.get_rng_state_all()
            if torch.cuda.is_available() and torch.cuda.is_initialized()
            else None
        )

    @classmethod
    def capture(cls) -> RNGState:
        return cls()

    def restore(self) -> None:
        torch.set_rng_state(self.torch)
        np.random.set_state(self.numpy)
        random.setstate(self.python)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)


def fingerprint(tensors: Sequence[Any]) -> tuple:
    """A cheap exact identity of a sequence of tensors (shape, dtype and a content hash)."""
    parts = []
    for x in tensors:
        if isinstance(x, torch.Tensor):
            data = x.detach().reshape(-1).contiguous().cpu().view(torch.uint8)
            digest = hashlib.blake2b(data.numpy().tobytes(), digest_size=16)
            parts.append((tuple(x.shape), str(x.dtype), digest.hexdigest()))
        else:
            parts.append(repr(x))
    return tuple(parts)


class GradientReplay:
    """A Captum ``gradient_func`` computing every target of a chunk in its first pass.

    Captum calls ``gradient_func(forward_fn, inputs, target_ind, additional_forward_args)``
    one or more times per ``attribute`` call. In the recording pass each call evaluates the
    gradients for all targets of the chunk at the given points (:func:`target_gradients`)
    and returns those of the pass's target. In later passes the n-th call returns the stored
    gradients of the n-th recorded call for that pass's target, after checking that its
    inputs are identical (otherwise, e.g. with a non-reproducible random draw, it computes
    them afresh).
    """

    def __init__(self, targets: list[int], rows_per_call: int) -> None:
        self.targets = targets
        self.rows_per_call = rows_per_call
        self.calls: list[tuple[tuple, tuple[torch.Tensor, ...]]] = []
        self.record = True
        self.target = targets[0]
        self.position = 0
        self.recomputed = 0

    def start_pass(self, record: bool, target: int) -> None:
        self.record, self.target, self.position = record, target, 0

    def __call__(
        self,
        forward_fn: Callable[..., torch.Tensor],
        inputs: Any,
        target_ind: Any = None,
        additional_forward_args: Any = None,
    ) -> tuple[torch.Tensor, ...]:
        inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        column = self.targets.index(self.target)
        if self.record:
            grads = target_gradients(
                forward_fn, inputs, self.targets, additional_forward_args, self.rows_per_call
            )
            self.calls.append((fingerprint(inputs), grads))
            return tuple(g[:, column] for g in grads)
        if self.position < len(self.calls):
            key, grads = self.calls[self.position]
            self.position += 1
            if key == fingerprint(inputs):
                return tuple(g[:, column] for g in grads)
        self.recomputed += 1
        return _compat.summed_gradients(forward_fn, inputs, target_ind, additional_forward_args)


class StackedGradients:
    """A Captum ``gradient_func`` for stacked rows that evaluates each point only once.

    In the stacked layout each instance's row is repeated for the block's time points, so
    Captum's evaluation points (inputs, or IntegratedGradients' interpolation points) come in
    runs of identical rows with targets ``t0, ..., t1 - 1``. This function checks that
    structure exactly, computes the gradients of all the block's targets once per distinct
    point (:func:`target_gradients`) and hands every row the gradient for its target.
    Anything else falls back to one backward of the summed selected outputs.
    """

    def __init__(self, rows_per_call: int) -> None:
        self.rows_per_call = rows_per_call
        self.targets: list[int] = []

    def set_block(self, targets: list[int]) -> None:
        self.targets = targets

    def __call__(
        self,
        forward_fn: Callable[..., torch.Tensor],
        inputs: Any,
        target_ind: Any = None,
        additional_forward_args: Any = None,
    ) -> tuple[torch.Tensor, ...]:
        inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        runs = self._distinct(inputs, target_ind, additional_forward_args)
        if runs is None:
            return _compat.summed_gradients(forward_fn, inputs, target_ind, additional_forward_args)
        points, extra = runs
        grads = target_gradients(forward_fn, points, self.targets, extra, self.rows_per_call)
        return tuple(g.reshape(x.shape) for g, x in zip(grads, inputs, strict=True))

    def _distinct(self, inputs: tuple, target_ind: Any, extra: Any) -> tuple | None:
        """The distinct points (and forward arguments) if rows come in runs, else None."""
        n_t = len(self.targets)
        n_rows = inputs[0].shape[0]
        if n_t == 0 or n_rows % n_t:
            return None
        n_points = n_rows // n_t
        expected = torch.as_tensor(self.targets, device=inputs[0].device).repeat(n_points)
        if isinstance(target_ind, list):
            target_ind = torch.as_tensor(target_ind, device=inputs[0].device)
        if isinstance(target_ind, int):
            target_ind = torch.full((1,), target_ind, device=inputs[0].device)
        if not isinstance(target_ind, torch.Tensor):
            return None
        target_ind = target_ind.reshape(-1).to(expected.device)
        if target_ind.numel() == 1:
            target_ind = target_ind.expand(n_rows)
        if not torch.equal(target_ind, expected):
            return None

        def first_of_runs(x: Any) -> Any:
            if isinstance(x, torch.Tensor) and x.dim() > 0 and x.shape[0] == n_rows:
                runs = x.reshape(n_points, n_t, *x.shape[1:])
                if not torch.equal(runs, runs[:, :1].expand_as(runs)):
                    raise _NotRuns
                return runs[:, 0]
            if isinstance(x, tuple):
                return tuple(first_of_runs(v) for v in x)
            return x

        try:
            return first_of_runs(inputs), first_of_runs(extra)
        except _NotRuns:
            return None


class _NotRuns(Exception):
    pass


def target_gradients(
    forward_fn: Callable[..., torch.Tensor],
    points: tuple[torch.Tensor, ...],
    targets: list[int],
    extra: Any,
    rows_per_call: int,
) -> tuple[torch.Tensor, ...]:
    """Gradients of ``forward_fn(points)[:, t]`` for every ``t`` in ``targets``.

    Returns a tuple of ``[P, len(targets), *S]`` tensors. For a :class:`SurvivalForward`
    with tensor-only extra arguments the Jacobian engine of
    :func:`captum_surv.attr.jacobian.output_jacobian` computes all time points at once (one
    backward pass of the log-risk for proportional hazards, forward or batched reverse mode
    for discrete heads); otherwise points x targets are stacked as rows with one backward
    pass of the summed selected outputs. ``rows_per_call`` bounds the rows per evaluation.
    """
    extra_tuple = () if extra is None else extra if isinstance(extra, tuple) else (extra,)
    use_jacobian = isinstance(forward_fn, SurvivalForward) and all(
        isinstance(a, torch.Tensor) and a.is_floating_point() for a in extra_tuple
    )
    n_points, n_targets = points[0].shape[0], len(targets)
    columns = torch.as_tensor(targets, device=points[0].device)
    width = forward_fn.n_times if use_jacobian else n_targets
    per_call = max(1, rows_per_call // max(1, width))
    pieces: list[list[torch.Tensor]] = [[] for _ in points]
    for start in range(0, n_points, per_call):
        stop = min(start + per_call, n_points)
        n = stop - start
        if use_jacobian:
            rows = tuple(x[start:stop].detach() for x in points)
            rows += slice_repeat_rows(extra_tuple, n_points, start, stop, 1)
            jacobians, _ = output_jacobian(forward_fn, rows)
            grads = tuple(j.index_select(1, columns.to(j.device)) for j in jacobians)
        else:
            stacked = tuple(
                x[start:stop].detach().repeat_interleave(n_targets, dim=0).requires_grad_(True)
                for x in points
            )
            extra_rows = slice_repeat_rows(extra, n_points, start, stop, n_targets)
            flat = _compat.summed_gradients(forward_fn, stacked, columns.repeat(n), extra_rows)
            grads = tuple(
                g.reshape(n, n_targets, *x.shape[1:]) for g, x in zip(flat, points, strict=True)
            )
        for piece, g, x in zip(pieces, grads, points, strict=False):
            piece.append(g.to(device=x.device, dtype=x.dtype))
    return tuple(torch.cat(piece) for piece in pieces)


class ForwardReplay:
    """A forward function that records its outputs in one pass and replays them later."""

    def __init__(self, forward: Callable[..., torch.Tensor]) -> None:
        self.forward = forward
        self.calls: list[tuple[tuple, torch.Tensor]] = []
        self.record = True
        self.position = 0

    def start_pass(self, record: bool) -> None:
        self.record, self.position = record, 0

    def __call__(self, *args: Any) -> torch.Tensor:
        if self.record:
            out = self.forward(*args)
            self.calls.append((fingerprint(args), out.detach()))
            return out
        if self.position < len(self.calls):
            key, out = self.calls[self.position]
            self.position += 1
            if key == fingerprint(args):
                return out
        return self.forward(*args)


class swap_attribute:  # noqa: N801 - used like contextlib helpers
    """Context manager setting ``obj.name = value`` and restoring it, even on error."""

    def __init__(self, obj: Any, name: str, value: Any) -> None:
        self.obj, self.name, self.value = obj, name, value
        self.had_own = name in vars(obj)
        self.old = vars(obj).get(name)

    def __enter__(self) -> Any:
        setattr(self.obj, self.name, self.value)
        return self.value

    def __exit__(self, *exc: Any) -> None:
        if self.had_own:
            setattr(self.obj, self.name, self.old)
        else:
            delattr(self.obj, self.name)


class yield_none:  # noqa: N801
    """Wrap a context manager so that ``with ... as x`` gives ``None``."""

    def __init__(self, context: Any) -> None:
        self.context = context

    def __enter__(self) -> None:
        self.context.__enter__()
        return None

    def __exit__(self, *exc: Any) -> Any:
        return self.context.__exit__(*exc)


def slice_repeat_rows(value: Any, n_rows: int, start: int, stop: int, repeats: int) -> Any:
    """Rows ``start:stop`` of batch-first tensors, each repeated ``repeats`` times."""
    if isinstance(value, torch.Tensor):
        if value.dim() > 0 and value.shape[0] == n_rows:
            return value[start:stop].repeat_interleave(repeats, dim=0)
        return value
    if isinstance(value, tuple):
        return tuple(slice_repeat_rows(v, n_rows, start, stop, repeats) for v in value)
    return value


@contextlib.contextmanager
def constant_branches_track_gradients(forward: nn.Module) -> Iterator[None]:
    """Let hook-based methods (DeepLift, ...) run on networks with integer-only branches.

    Captum's module hooks register a tensor hook on the input of every nonlinear module; in a
    branch fed only by held-fixed integer codes (an embedding of frozen weights) that input
    does not require gradients, and Captum fails. Within this context every module output
    of the forward's network that is floating and does not require gradients (in grad
    mode) is replaced by a gradient-tracking copy of itself: a constant leaf, so values and
    the attributions of the varying inputs are unchanged. The hooks are removed on exit.
    """

    def track(module: nn.Module, args: Any, output: Any) -> Any:
        if (
            torch.is_grad_enabled()
            and isinstance(output, torch.Tensor)
            and output.is_floating_point()
            and not output.requires_grad
        ):
            return output.detach().requires_grad_(True)
        return None

    handles = [module.register_forward_hook(track) for module in forward.modules()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class HeldFixed(nn.Module):
    """The forward with some inputs moved behind the attributed ones (held fixed).

    Captum calls ``held(*varying, *fixed, *extra)``; the forward gets its inputs back in
    their original order. The forward is a child module, so hooks on its network fire.
    """

    def __init__(self, forward: SurvivalForward, n_inputs: int, fixed: list[int]) -> None:
        super().__init__()
        self.survival_forward = forward
        self.n_inputs = n_inputs
        self.fixed = list(fixed)

    def forward(self, *args: Any) -> torch.Tensor:
        n_varying = self.n_inputs - len(self.fixed)
        varying = iter(args[:n_varying])
        fixed = iter(args[n_varying : self.n_inputs])
        ordered = [next(fixed) if i in self.fixed else next(varying) for i in range(self.n_inputs)]
        return self.survival_forward(*ordered, *args[self.n_inputs :])


def forward_slots(method: Any, forward: Any) -> list[tuple[Any, str]]:
    """``(object, attribute)`` pairs through which a Captum method (and its parts) reaches
    ``forward``: ``forward_func`` and ``model`` of the method, a NoiseTunnel's inner method,
    GuidedGradCam's Grad-CAM and Guided Backprop parts."""
    owners = [method]
    for name in ("attribution_method", "grad_cam", "guided_backprop"):
        part = getattr(method, name, None)
        if part is not None:
            owners.extend(_forward_slots_owners(part))
    slots = []
    for owner in owners:
        for name in ("forward_func", "model"):
            if getattr(owner, name, None) is forward:
                slots.append((owner, name))
    return slots


def _forward_slots_owners(part: Any) -> list[Any]:
    owners = [part]
    for name in ("grad_cam", "guided_backprop"):
        sub = getattr(part, name, None)
        if sub is not None:
            owners.append(sub)
    return owners


# ------------------------------------------------------- Captum call and result layouts
def attribute_default(method: Any, name: str, fallback: int) -> int:
    param = inspect.signature(method.attribute).parameters.get(name)
    if param is None or param.default is inspect.Parameter.empty:
        return fallback
    return int(param.default)


def points_per_instance(method: Any, call: dict[str, Any]) -> int:
    """Evaluation points per instance in one pass (for the size of the time chunks)."""
    if isinstance(method, NoiseTunnel):
        samples = int(call.get("nt_samples", attribute_default(method, "nt_samples", 5)))
        return samples * points_per_instance(method.attribution_method, call)
    if isinstance(method, IntegratedGradients):
        return int(call.get("n_steps", attribute_default(method, "n_steps", 50)))
    if isinstance(method, GradientShap):
        return int(call.get("n_samples", attribute_default(method, "n_samples", 5)))
    return 1


def rows_per_stacked_row(method: Any, call: dict[str, Any]) -> int:
    """Network rows per stacked (instance, time) row in the stacked strategy."""
    if _strategies.has_distribution_baselines(method):  # DeepLiftShap: inputs x baselines
        base = call.get("baselines")
        first = base[0] if isinstance(base, tuple) else base
        n_base = first.shape[0] if isinstance(first, torch.Tensor) and first.dim() else 1
        return 2 * n_base
    if "n_steps" in inspect.signature(method.attribute).parameters:
        return max(1, int(call.get("n_steps", attribute_default(method, "n_steps", 50))))
    if isinstance(method, DeepLift):
        return 2  # inputs and baselines
    return 1


def delta_partitions(method: Any, call: dict[str, Any]) -> list[int] | None:
    """Sample counts of NoiseTunnel's partitions (its deltas are concatenated by partition)."""
    if not isinstance(method, NoiseTunnel):
        return None
    samples = int(call.get("nt_samples", attribute_default(method, "nt_samples", 5)))
    size = call.get("nt_samples_batch_size")
    size = samples if size is None else min(samples, int(size))
    sizes = [size] * (samples // size)
    if samples % size:
        sizes.append(samples % size)
    return sizes


def per_instance_delta(
    delta: torch.Tensor, n_batch: int, partitions: list[int] | None
) -> torch.Tensor:
    """Captum's deltas of one pass -> one value per instance (mean over its samples)."""
    delta = delta.reshape(-1)
    if partitions is None or len(partitions) == 1:
        return delta.reshape(n_batch, -1).mean(dim=1)
    per_sample = delta.numel() // (n_batch * sum(partitions))
    lengths = [n_batch * size * per_sample for size in partitions]
    pieces = [part.reshape(n_batch, -1) for part in torch.split(delta, lengths)]
    return torch.cat(pieces, dim=1).mean(dim=1)


def to_time_layout(out: Any, inputs: tuple[torch.Tensor, ...], n_batch: int, n_times: int) -> Any:
    """Captum's multi-output result ([B*T, *S] or [B, T, *S]) -> ``[B, T, *S]``."""
    outs = out if isinstance(out, tuple) else (out,)
    shaped = []
    for a, x in zip(outs, inputs, strict=True):
        expected = (n_batch, n_times, *x.shape[1:])
        if tuple(a.shape) != expected:
            if a.numel() != int(np.prod(expected)):
                raise RuntimeError(
                    f"Unexpected Captum multi-output attribution shape {tuple(a.shape)} "
                    f"(expected {expected} or [B*T, ...]); please report this."
                )
            a = a.reshape(expected)  # row b * T + t
        shaped.append(a)
    return tuple(shaped) if isinstance(out, tuple) else shaped[0]


def layer_time_layout(a: torch.Tensor, n_times: int) -> torch.Tensor:
    """Captum's multi-output layer attribution (row ``r * T + t``) -> ``[R, T, ...]``."""
    if a.shape[0] % n_times:
        raise RuntimeError(
            f"Unexpected Captum multi-output layer attribution shape {tuple(a.shape)} for "
            f"{n_times} time points; please report this."
        )
    return a.reshape(a.shape[0] // n_times, n_times, *a.shape[1:])
