"""Jacobians of all time points at once, by the cheapest exact route per model family.

``output_jacobian(forward, inputs)`` returns ``d forward(inputs)[n, k] / d inputs[n]`` for
every row ``n`` and time ``k``, shaped ``[N, T, *S]`` per input tensor. Rows are
independent (the network is in eval mode), which every route below relies on.

* Proportional hazards (CoxPH, CoxCC): the input enters only through the scalar
  ``g(x)``: one backward pass of ``g`` serves every time point, times ``d out / d g``.
* Discrete-time heads (LogisticHazard, PMF, ..., DeepHit) and any other forward: the
  Jacobian of the whole map (network and survival transform) costs one forward-mode pass
  per input feature or one batched reverse-mode pass per output column, whichever is
  fewer; each pass processes all rows at once.
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
    if isinstance(forward, CoxForward):
        return _proportional_hazards(forward, inputs)
    net, inputs = forward._prepare(inputs)
    if isinstance(forward, CoxTimeForward):
        return _coxtime(forward, net, inputs)
    if isinstance(forward, (DiscreteForward, DeepHitForward)):
        head = forward.output_from_raw
        return _full_jacobian(lambda *xs: head(forward._run_net(net, *xs)), inputs)
    return _full_jacobian(forward, inputs)


def _leaf(inputs: Inputs) -> Inputs:
    return tuple(x.detach().requires_grad_(x.is_floating_point()) for x in inputs)


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
    with torch.enable_grad():
        g = forward._run_net(net, *leaves).reshape(-1)
        wrt = [x for x in leaves if x.requires_grad]
        grads = iter(torch.autograd.grad(g.sum(), wrt))
    g = g.detach()
    # d out[n, k] / d g[n]: the transform acts elementwise per row, so one forward-mode pass
    outputs, d_out = torch.func.jvp(forward.output_from_log_risk, (g,), (torch.ones_like(g),))
    features = tuple(next(grads) if x.requires_grad else torch.zeros_like(x) for x in leaves)
    return d_out, features, outputs


def _proportional_hazards(forward: CoxForward, inputs: Inputs) -> tuple[Inputs, torch.Tensor]:
    d_out, features, outputs = proportional_hazards_factors(forward, inputs)
    result = []
    for dg_dx in features:
        scale = d_out.reshape(*d_out.shape, *([1] * (dg_dx.dim() - 1)))
        result.append(scale * dg_dx.unsqueeze(1))
    return tuple(result), outputs


def _full_jacobian(fn: Callable[..., torch.Tensor], inputs: Inputs) -> tuple[Inputs, torch.Tensor]:
    """Jacobian of ``fn(*inputs) -> [N, T]`` w.r.t. each input row, through the whole map.

    Forward mode (one pass per input feature, all rows at once) when there are fewer
    features than output columns, else batched reverse mode (one pass per column).
    """
    with torch.no_grad():
        out = fn(*inputs)
    n, n_out = out.shape[0], out[0].numel()
    floating = [i for i, x in enumerate(inputs) if x.is_floating_point()]
    n_features = sum(inputs[i][0].numel() for i in floating)
    jacobians: list[torch.Tensor | None] = [None] * len(inputs)
    if n_features <= n_out:
        bases = []
        for i in floating:
            x = inputs[i]
            width = x[0].numel()
            basis = torch.zeros((n_features, n, width), dtype=x.dtype, device=x.device)
            offset = sum(inputs[j][0].numel() for j in floating if j < i)
            basis[torch.arange(offset, offset + width), :, torch.arange(width)] = 1
            bases.append(basis.reshape(n_features, *x.shape))

        def directional(*tangents: torch.Tensor) -> torch.Tensor:
            def of_floating(*xs: torch.Tensor) -> torch.Tensor:
                args = list(inputs)
                for i, value in zip(floating, xs, strict=True):
                    args[i] = value
                return fn(*args)

            primals = tuple(inputs[i] for i in floating)
            return torch.func.jvp(of_floating, primals, tangents)[1]

        jac = torch.func.vmap(directional)(*bases)  # [F_total, N, *T]
        offset = 0
        for i in floating:
            width = inputs[i][0].numel()
            block = jac[offset : offset + width].reshape(width, n, n_out)
            jacobians[i] = block.permute(1, 2, 0).reshape(n, n_out, *inputs[i].shape[1:])
            offset += width
    else:
        leaves = _leaf(inputs)
        with torch.enable_grad():
            flat = fn(*leaves).reshape(n, n_out)
            eye = torch.eye(n_out, dtype=flat.dtype, device=flat.device)
            grad_outputs = eye[:, None, :].expand(n_out, n, n_out)
            wrt = [leaves[i] for i in floating]
            grads = torch.autograd.grad(flat, wrt, grad_outputs=grad_outputs, is_grads_batched=True)
        for i, g in zip(floating, grads, strict=True):
            jacobians[i] = g.movedim(0, 1)  # [N, T, *S]
    for i, x in enumerate(inputs):
        if jacobians[i] is None:  # integer inputs (e.g. embeddings) get zero attributions
            jacobians[i] = torch.zeros((n, n_out, *x.shape[1:]), dtype=out.dtype)
    return tuple(jacobians), out


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
