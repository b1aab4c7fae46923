"""Jacobians of all time points at once, by the cheapest exact route per model family.

``output_jacobian(forward, inputs)`` returns ``d forward(inputs)[n, k] / d inputs[n]`` for
every row ``n`` and time ``k``, shaped ``[N, T, *S]`` per input tensor. Rows are
independent (the network is in eval mode), which every route below relies on.

* Proportional hazards (CoxPH, CoxCC): the input enters only through the scalar
  ``g(x)``: one backward pass of ``g`` serves every time point, times ``d out / d g``.
* Discrete-time heads (LogisticHazard, PMF, ..., DeepHit): the network returns ``M``
  raw outputs; their Jacobian costs one forward-mode pass per input feature or one
  reverse-mode pass per raw output, whichever is fewer. The survival transform on top is
  differentiated analytically (forward mode, no network call).
* CoxTime: ``g(x, t_j)`` at each jump time is one stacked row; one backward of the sum
  gives every row's gradient, then the chain rule through the cumulative hazard.
"""

from __future__ import annotations

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
    net, inputs = forward._prepare(inputs)
    if isinstance(forward, CoxForward):
        return _proportional_hazards(forward, net, inputs)
    if isinstance(forward, CoxTimeForward):
        return _coxtime(forward, net, inputs)
    if isinstance(forward, (DiscreteForward, DeepHitForward)):
        return _head_then_transform(forward, net, inputs, forward.output_from_raw)
    return _generic(forward, inputs)


def _leaf(inputs: Inputs) -> Inputs:
    return tuple(x.detach().requires_grad_(x.is_floating_point()) for x in inputs)


def _transform_jacobian(
    transform: Callable[[torch.Tensor], torch.Tensor], raw: torch.Tensor
) -> torch.Tensor:
    """``d transform(raw)[n, k] / d raw[n, ...]`` as ``[N, T, *raw.shape[1:]]``."""

    def one_row(row: torch.Tensor) -> torch.Tensor:
        return transform(row.unsqueeze(0)).squeeze(0)

    return torch.func.vmap(torch.func.jacfwd(one_row))(raw.detach())


def _chain(outer: torch.Tensor, inner: Inputs, raw_dims: int) -> Inputs:
    """Contract ``outer [N, T, *R]`` with ``inner [N, *R, *S]`` over the raw axes R."""
    n, t = outer.shape[:2]
    flat_outer = outer.reshape(n, t, -1)
    result = []
    for jac in inner:
        feature_shape = jac.shape[1 + raw_dims :]
        flat_inner = jac.reshape(n, flat_outer.shape[2], -1)
        result.append(torch.bmm(flat_outer, flat_inner).reshape(n, t, *feature_shape))
    return tuple(result)


def _proportional_hazards(
    forward: CoxForward, net: nn.Module, inputs: Inputs
) -> tuple[Inputs, torch.Tensor]:
    leaves = _leaf(inputs)
    with torch.enable_grad():
        g = forward._run_net(net, *leaves).reshape(-1)
        grads = torch.autograd.grad(g.sum(), [x for x in leaves if x.requires_grad])
    grads_iter = iter(grads)
    dg_dx = tuple(next(grads_iter) if x.requires_grad else torch.zeros_like(x) for x in leaves)
    g = g.detach()
    outer = _transform_jacobian(forward.output_from_log_risk, g.unsqueeze(1).squeeze(1))
    # outer: [N, T] (g is a scalar per row); make the raw axis explicit
    outer = outer.reshape(g.shape[0], forward.n_times, 1)
    inner = tuple(d.unsqueeze(1) for d in dg_dx)
    return _chain(outer, inner, 1), forward.output_from_log_risk(g)


def _raw_jacobian(
    net_fn: Callable[..., torch.Tensor], inputs: Inputs
) -> tuple[Inputs, torch.Tensor]:
    """Jacobian of the raw network outputs ``[N, *R]`` w.r.t. each input row."""
    leaves = _leaf(inputs)
    with torch.no_grad():
        raw = net_fn(*inputs)
    n_raw = raw[0].numel()
    n_features = sum(x[0].numel() for x in inputs if x.is_floating_point())
    argnums = tuple(i for i, x in enumerate(inputs) if x.is_floating_point())
    if n_features < n_raw and len(argnums) == len(inputs):

        def one_row(*rows: torch.Tensor) -> torch.Tensor:
            return net_fn(*(r.unsqueeze(0) for r in rows)).squeeze(0)

        jac = torch.func.vmap(torch.func.jacfwd(one_row, argnums=argnums))(*inputs)
        return tuple(jac), raw
    with torch.enable_grad():
        out = net_fn(*leaves)
        flat = out.reshape(out.shape[0], -1)
        eye = torch.eye(n_raw, dtype=flat.dtype, device=flat.device)
        grad_outputs = eye[:, None, :].expand(n_raw, flat.shape[0], n_raw)
        wrt = [x for x in leaves if x.requires_grad]
        grads = torch.autograd.grad(flat, wrt, grad_outputs=grad_outputs, is_grads_batched=True)
    result = []
    grads_iter = iter(grads)
    for x in leaves:
        if x.requires_grad:
            g = next(grads_iter)  # [n_raw, N, *S]
            g = g.movedim(0, 1).reshape(x.shape[0], *out.shape[1:], *x.shape[1:])
        else:
            g = torch.zeros((x.shape[0], *out.shape[1:], *x.shape[1:]), dtype=flat.dtype)
        result.append(g)
    return tuple(result), raw


def _head_then_transform(
    forward: SurvivalForward,
    net: nn.Module,
    inputs: Inputs,
    transform: Callable[[torch.Tensor], torch.Tensor],
) -> tuple[Inputs, torch.Tensor]:
    raw_jac, raw = _raw_jacobian(lambda *xs: forward._run_net(net, *xs), inputs)
    outer = _transform_jacobian(transform, raw)
    return _chain(outer, raw_jac, raw.dim() - 1), transform(raw)


def _coxtime(
    forward: CoxTimeForward, net: nn.Module, inputs: Inputs
) -> tuple[Inputs, torch.Tensor]:
    scaled = forward.scaled_grid if forward.output == "log_risk" else forward.scaled_native
    n, n_t = inputs[0].shape[0], scaled.shape[0]
    stacked = _leaf(tuple(x.repeat_interleave(n_t, dim=0) for x in inputs))
    dtype = next(x.dtype for x in inputs if x.is_floating_point())
    t_col = scaled.to(dtype).repeat(n).reshape(-1, 1)
    with torch.enable_grad():
        g = forward._run_net(net, *stacked, t_col).reshape(-1)
        wrt = [x for x in stacked if x.requires_grad]
        grads = iter(torch.autograd.grad(g.sum(), wrt)) if n_t else iter(())
    inner = tuple(
        next(grads).reshape(n, n_t, *x.shape[1:])
        if x.requires_grad and n_t
        else torch.zeros((n, n_t, *x.shape[1:]), dtype=dtype)
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


def _generic(forward: SurvivalForward, inputs: Inputs) -> tuple[Inputs, torch.Tensor]:
    """Fallback for other forwards: one reverse pass per time point."""
    leaves = _leaf(inputs)
    with torch.enable_grad():
        out = forward(*leaves)
        jac = [[] for _ in leaves]
        for k in range(out.shape[1]):
            grads = torch.autograd.grad(out[:, k].sum(), leaves, retain_graph=True)
            for i, g in enumerate(grads):
                jac[i].append(g)
    return tuple(torch.stack(j, dim=1) for j in jac), out.detach()
