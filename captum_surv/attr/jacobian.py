"""Jacobians of all time points at once, by the cheapest exact route per model family.

``output_jacobian(forward, inputs)`` returns ``d forward(inputs)[n, k] / d inputs[n]`` for
every row ``n`` and time ``k``, shaped ``[N, T, *S]`` per input tensor. Rows are
independent (the network is in eval mode), which every route below relies on.

* Proportional hazards (CoxPH, CoxCC): the input enters only through the scalar
  ``g(x)``: one backward pass of ``g`` serves every time point, times ``d out / d g``.
* Discrete-time heads (LogisticHazard, PMF, ..., DeepHit) and any other forward: the
  Jacobian of the whole map (network and survival transform) costs one forward-mode pass
  per input feature or one batched reverse-mode pass per output column, whichever is
  fewer; each pass processes all rows at once. Networks with layers that have no
  forward-mode derivative (e.g. ``nn.MultiheadAttention``'s fused path, float32 ``nn.LSTM``
  on CPU) fall back to batched reverse mode, and where reverse mode cannot be batched
  either, to one reverse pass per output column: the numbers are the same.
* CoxTime: ``g(x, t_j)`` at each jump time is one stacked row; one backward of the sum
  gives every row's gradient, then the chain rule through the cumulative hazard.

Integer inputs (e.g. category codes fed to ``nn.Embedding``) are not differentiable: they
are held fixed, and their Jacobian is a zeros tensor in the floating dtype of the outputs.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable

import torch
from torch import nn

from captum_surv.models.base import SurvivalForward
from captum_surv.models.cox import CoxForward
from captum_surv.models.coxtime import CoxTimeForward
from captum_surv.models.deephit import DeepHitForward
from captum_surv.models.discrete import DiscreteForward

Inputs = tuple[torch.Tensor, ...]


def output_jacobian(forward: SurvivalForward, inputs: Inputs) -> tuple[Inputs, torch.Tensor]:
    """Jacobian of every output column with respect to each input row.

    Args:
        forward: The survival forward.
        inputs: Tuple of input tensors ``[N, *S_i]``.

    Returns:
        ``(jacobians, outputs)``: a tuple of ``[N, T, *S_i]`` tensors and the forward's
        outputs ``[N, T]`` (detached).
    """
    if forward.condition_time is not None and not isinstance(forward, CoxForward):
        return forward.conditional_jacobian(*output_jacobian(forward._unconditional, inputs))
    if isinstance(forward, CoxForward):
        return _proportional_hazards(forward, inputs)
    net, inputs = forward._prepare(inputs)
    if isinstance(forward, CoxTimeForward):
        return _coxtime(forward, net, inputs)
    if isinstance(forward, (DiscreteForward, DeepHitForward)):
        head = forward.output_from_raw
        return _full_jacobian(lambda *xs: head(forward._run_net(net, *xs)), inputs, key=net)
    return _full_jacobian(forward, inputs, key=forward)


def _leaf(inputs: Inputs) -> Inputs:
    return tuple(x.detach().requires_grad_(x.is_floating_point()) for x in inputs)


def floating_dtype(inputs: Inputs) -> torch.dtype:
    """The dtype the forward computes in: that of the first floating input (else default)."""
    return next((x.dtype for x in inputs if x.is_floating_point()), torch.get_default_dtype())


def _zeros_jacobian(x: torch.Tensor, n_out: int, dtype: torch.dtype) -> torch.Tensor:
    """The Jacobian of an integer (non-differentiable, held fixed) input: zeros."""
    return torch.zeros((x.shape[0], n_out, *x.shape[1:]), dtype=dtype, device=x.device)


def proportional_hazards_factors(
    forward: CoxForward, inputs: Inputs
) -> tuple[torch.Tensor, Inputs, torch.Tensor]:
    """The rank-one structure of a proportional-hazards Jacobian.

    ``J[n, k, ...] = time_factor[n, k] * feature_factor[n, ...]`` with
    ``time_factor = d out / d g`` and ``feature_factor = d g / d x``: one backward pass of
    ``g`` serves every time point.

    Returns:
        ``(time_factor [N, T], feature_factors (tuple of [N, *S]), outputs [N, T])``.
    """
    net, inputs = forward._prepare(inputs)
    leaves = _leaf(inputs)
    wrt = [x for x in leaves if x.requires_grad]
    with torch.enable_grad():
        g = forward._run_net(net, *leaves).reshape(-1)
        grads = iter(torch.autograd.grad(g.sum(), wrt) if wrt else ())
    g = g.detach()
    # d out[n, k] / d g[n]: the transform acts elementwise per row, so one forward-mode pass
    outputs, d_out = torch.func.jvp(forward.output_from_log_risk, (g,), (torch.ones_like(g),))
    features = tuple(
        next(grads) if x.requires_grad else torch.zeros(x.shape, dtype=g.dtype, device=x.device)
        for x in leaves
    )
    return d_out, features, outputs


def _proportional_hazards(forward: CoxForward, inputs: Inputs) -> tuple[Inputs, torch.Tensor]:
    d_out, features, outputs = proportional_hazards_factors(forward, inputs)
    result = []
    for dg_dx in features:
        scale = d_out.reshape(*d_out.shape, *([1] * (dg_dx.dim() - 1)))
        result.append(scale * dg_dx.unsqueeze(1))
    return tuple(result), outputs


# Networks seen to lack a forward-mode derivative: later calls go straight to reverse mode.
_NO_FORWARD_AD: weakref.WeakSet[object] = weakref.WeakSet()

# Phrases of PyTorch's errors for an operation without a forward-mode (jvp) formula or a
# vmap batching rule. Only these errors trigger a fallback; any other error propagates.
_FORWARD_AD_ERRORS = re.compile(r"forward[ -]?(mode )?AD|jvp|forward-mode", re.IGNORECASE)
_BATCHING_ERRORS = re.compile(r"vmap|batching rule|batched|functorch", re.IGNORECASE)


def use_forward_mode(n_features: int, n_out: int) -> bool:
    """Whether forward mode (one pass per input feature) beats reverse mode (one per column)."""
    return n_features <= n_out


def _is_forward_ad_error(err: BaseException | None) -> bool:
    """Whether ``err`` (or the error it wraps) is PyTorch's "no jvp / no batching rule"."""
    while err is not None:
        if isinstance(err, (NotImplementedError, RuntimeError)) and (
            _FORWARD_AD_ERRORS.search(str(err)) or _BATCHING_ERRORS.search(str(err))
        ):
            return True
        err = err.__cause__
    return False


def _full_jacobian(
    fn: Callable[..., torch.Tensor], inputs: Inputs, key: object = None
) -> tuple[Inputs, torch.Tensor]:
    """Jacobian of ``fn(*inputs) -> [N, T]`` w.r.t. each input row, through the whole map.

    Forward mode (one pass per input feature, all rows at once) when there are fewer
    features than output columns, else batched reverse mode (one pass per column). If the
    network has an operation without a forward-mode derivative, reverse mode is used (and
    remembered for ``key``, the network); if reverse mode cannot be batched with vmap, one
    reverse pass per column.
    """
    with torch.no_grad():
        out = fn(*inputs)
    n, n_out = out.shape[0], out[0].numel()
    floating = [i for i, x in enumerate(inputs) if x.is_floating_point()]
    n_features = sum(inputs[i][0].numel() for i in floating)
    grads: Inputs | None = None
    if not floating:
        grads = ()
    elif use_forward_mode(n_features, n_out) and (key is None or key not in _NO_FORWARD_AD):
        try:
            grads = _forward_mode(fn, inputs, floating, n, n_out)
        except (NotImplementedError, RuntimeError, ValueError) as err:
            if not _is_forward_ad_error(err):
                raise
            if key is not None:
                _NO_FORWARD_AD.add(key)
    if grads is None:
        grads = _reverse_mode(fn, inputs, floating, n, n_out)
    jacobians = [_zeros_jacobian(x, n_out, out.dtype) for x in inputs]
    for i, jac in zip(floating, grads, strict=True):
        jacobians[i] = jac
    return tuple(jacobians), out


def _forward_mode(
    fn: Callable[..., torch.Tensor], inputs: Inputs, floating: list[int], n: int, n_out: int
) -> Inputs:
    """One jvp per input feature (vmapped over the features), all rows at once."""
    n_features = sum(inputs[i][0].numel() for i in floating)
    bases = []
    offset = 0
    for i in floating:
        x = inputs[i]
        width = x[0].numel()
        basis = torch.zeros((n_features, n, width), dtype=x.dtype, device=x.device)
        basis[torch.arange(offset, offset + width), :, torch.arange(width)] = 1
        bases.append(basis.reshape(n_features, *x.shape))
        offset += width

    def of_floating(*xs: torch.Tensor) -> torch.Tensor:
        args = list(inputs)
        for i, value in zip(floating, xs, strict=True):
            args[i] = value
        return fn(*args)

    primals = tuple(inputs[i] for i in floating)

    def directional(*tangents: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(of_floating, primals, tangents)[1]

    jac = torch.func.vmap(directional)(*bases)  # [F_total, N, *T]
    result = []
    offset = 0
    for i in floating:
        width = inputs[i][0].numel()
        block = jac[offset : offset + width].reshape(width, n, n_out)
        result.append(block.permute(1, 2, 0).reshape(n, n_out, *inputs[i].shape[1:]))
        offset += width
    return tuple(result)


def _reverse_mode(
    fn: Callable[..., torch.Tensor], inputs: Inputs, floating: list[int], n: int, n_out: int
) -> Inputs:
    """One reverse pass per output column, batched with vmap where the network allows."""
    leaves = _leaf(inputs)
    wrt = [leaves[i] for i in floating]
    with torch.enable_grad():
        flat = fn(*leaves).reshape(n, n_out)
        eye = torch.eye(n_out, dtype=flat.dtype, device=flat.device)
        grad_outputs = eye[:, None, :].expand(n_out, n, n_out)
        try:
            grads = torch.autograd.grad(
                flat, wrt, grad_outputs=grad_outputs, is_grads_batched=True, retain_graph=True
            )
        except (NotImplementedError, RuntimeError, ValueError) as err:
            if not _is_forward_ad_error(err):
                raise
            columns = [
                torch.autograd.grad(flat, wrt, grad_outputs=grad_outputs[k], retain_graph=True)
                for k in range(n_out)
            ]
            grads = tuple(torch.stack([c[j] for c in columns]) for j in range(len(wrt)))
    return tuple(g.movedim(0, 1) for g in grads)  # [N, T, *S]


def _coxtime(
    forward: CoxTimeForward, net: nn.Module, inputs: Inputs
) -> tuple[Inputs, torch.Tensor]:
    scaled = forward.scaled_grid if forward.output == "log_risk" else forward.scaled_native
    n, n_t = inputs[0].shape[0], scaled.shape[0]
    stacked = _leaf(tuple(x.repeat_interleave(n_t, dim=0) for x in inputs))
    dtype = floating_dtype(inputs)
    t_col = scaled.to(dtype).repeat(n).reshape(-1, 1)
    wrt = [x for x in stacked if x.requires_grad]
    with torch.enable_grad():
        g = forward._run_net(net, *stacked, t_col).reshape(-1)
        grads = iter(torch.autograd.grad(g.sum(), wrt) if n_t and wrt else ())
    inner = tuple(
        next(grads).reshape(n, n_t, *x.shape[1:])
        if x.requires_grad and n_t
        else torch.zeros((n, n_t, *x.shape[1:]), dtype=dtype, device=x.device)
        for x in stacked
    )
    g = g.detach().reshape(n, n_t)
    if forward.output == "log_risk":
        return inner, g
    # Chain rule through H(t_k) = sum_{j <= left_k} h0_j exp(g_j), without materialising
    # the [N, T, J] Jacobian of the transform: cumulate h0_j exp(g_j) dg_j/dx over j.
    weight = forward.baseline_hazard.to(g.dtype) * torch.exp(g)  # [N, J]
    left = torch.as_tensor(forward._lookup.left, device=g.device)
    outputs = forward.output_from_log_risk(g)
    native_cumhazard = torch.cumsum(weight, dim=1)
    cumhazard = torch.cat([weight.new_zeros((n, 1)), native_cumhazard], 1).index_select(1, left)
    result = []
    for d in inner:
        flat = d.reshape(n, n_t, -1)
        running = torch.cumsum(weight.unsqueeze(2) * flat, dim=1)
        extended = torch.cat([running.new_zeros((n, 1, running.shape[2])), running], dim=1)
        d_cumhazard = extended.index_select(1, left)  # [N, T, F]
        if forward.output == "cumhazard":
            jac = d_cumhazard
        elif forward.output == "survival":
            jac = -torch.exp(-cumhazard).unsqueeze(2) * d_cumhazard
        else:  # hazard: increments of the cumulative hazard between grid times
            previous = torch.cat(
                [d_cumhazard.new_zeros((n, 1, flat.shape[2])), d_cumhazard[:, :-1]], 1
            )
            jac = d_cumhazard - previous
        result.append(jac.reshape(n, -1, *d.shape[2:]))
    return tuple(result), outputs
