"""Jacobians of all time points at once, by the cheapest exact route per kind of forward.

``output_jacobian(forward, inputs)`` returns ``d forward(inputs)[n, k] / d inputs[n]`` for
every row ``n`` and time ``k``, shaped ``[N, T, *S]`` per input tensor. Rows are
independent (the network is in eval mode), which every route below relies on.

The route depends on what the forward *is*, read from the public family protocol of
:class:`~captum_surv.SurvivalForward` (``structure``, ``network_rank``,
``output_from_network``, ``network_times``, ``jacobian_from_network``), never from its
class:

* ``"head"`` with a small ``network_rank`` k (proportional hazards: the log-risk, k = 1;
  parametric families: the k distribution parameters): every time point depends on the
  input only through k network outputs, so ``J = (d out / d raw) (d raw / d x)`` costs k
  backward passes of the network, plus k forward-mode passes of the cheap transform.
* Other ``"head"`` forwards (discrete-time heads, DeepHit): the network is differentiated
  to its K logits only, then the head (:func:`head_jacobian`). When p <= K, forward mode:
  the p unit directions are pushed through the network node by node, rows first
  (:mod:`captum_surv.attr.forward_mode`), and through the head (in closed form where the
  family has one, :meth:`~captum_surv.SurvivalForward.output_tangents`). When p > K,
  reverse mode: a chain network (linear layers and per-feature maps) is multiplied back
  from its K outputs for all rows at once (:mod:`captum_surv.attr.layer_chain`), any
  other network takes K reverse passes; then the head's Jacobian (or T reverse passes of
  the whole map when the grid has fewer time points than K). Rows are processed in
  chunks of :data:`HEAD_CHUNK_ROWS`. The gradient methods skip the Jacobian itself and
  take per-instance weighted sums straight from the tangents
  (:func:`weighted_jacobian_sums`). Networks with layers that have no forward-mode
  derivative (e.g. ``nn.MultiheadAttention``'s fused path, float32 ``nn.LSTM`` on CPU)
  fall back to reverse mode: the numbers are the same.
* Any ``"network"`` forward: the Jacobian of the whole map costs one forward-mode pass
  per input feature or one batched reverse-mode pass per output column, whichever is
  fewer; each pass processes all rows at once, with the same fallbacks (where reverse
  mode cannot be batched either, one reverse pass per output column).
* ``"time_input"`` (CoxTime): ``g(x, s_j)`` at each network time is one stacked row; one
  backward of the sum gives every row's gradient, then the family's chain rule
  (``jacobian_from_network``). A network whose first layer is an ``nn.Linear`` on
  ``concat(x, t)`` computes that layer's input part once per row
  (:class:`~captum_surv.models.coxtime.FirstLayerSplit`), in chunks of
  ``PAIRS_PER_CHUNK`` (row, time) pairs; when the rest of it is a chain, its gradient is
  multiplied back without autograd.

Integer inputs (e.g. category codes fed to ``nn.Embedding``) are not differentiable: they
are held fixed, and their Jacobian is a zeros tensor in the floating dtype of the outputs.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable

import torch
from torch import nn

from captum_surv.attr.forward_mode import network_tangents
from captum_surv.attr.layer_chain import chain_jacobian, is_chain, rest_jacobian
from captum_surv.models import coxtime
from captum_surv.models.base import SurvivalForward, has_forward_hooks
from captum_surv.models.coxtime import first_layer_split

Inputs = tuple[torch.Tensor, ...]


def output_jacobian(forward: SurvivalForward, inputs: Inputs) -> tuple[Inputs, torch.Tensor]:
    """Jacobian of every output column with respect to each input row.

    Args:
        forward: The survival forward.
        inputs: Tuple of input tensors ``[N, *S_i]``.

    Returns:
        ``(jacobians, outputs)``: a tuple of ``[N, T, *S_i]`` tensors and the forward's
        outputs ``[N, T]`` (detached). The Jacobians may be strided views (e.g. of
        rows-first ``[N, *S_i, T]`` storage); call ``.contiguous()`` where that matters.
    """
    unconditional = forward.unconditional_forward
    if unconditional is not None and not forward.conditions_in_head:
        # conditional outputs: the Jacobian of H on the grid plus s, then the chain rule
        return forward.conditional_jacobian(*output_jacobian(unconditional, inputs))
    if is_low_rank(forward, inputs):
        time_factors, features, outputs = low_rank_factors(forward, inputs)
        return _low_rank_product(time_factors, features), outputs
    net, inputs = forward.prepare_inputs(*inputs)
    if forward.structure == "time_input":
        return _time_input(forward, net, inputs)
    if forward.structure == "head":
        return head_jacobian(forward, net, inputs)
    return _full_jacobian(forward, inputs, key=forward)


def is_low_rank(forward: SurvivalForward, inputs: Inputs) -> bool:
    """Whether the low-rank route (``network_rank`` backward passes) is the cheapest.

    It is for a ``"head"`` forward whose ``network_rank`` k is at most the number of input
    features and of time points (the full route costs the fewer of those two).
    """
    rank = forward.network_rank if forward.structure == "head" else None
    if rank is None or (
        forward.unconditional_forward is not None and not forward.conditions_in_head
    ):
        return False
    n_features = sum(x[0].numel() for x in inputs if x.is_floating_point())
    return rank <= min(n_features, forward.n_times)


def _leaf(inputs: Inputs) -> Inputs:
    return tuple(x.detach().requires_grad_(x.is_floating_point()) for x in inputs)


def floating_dtype(inputs: Inputs) -> torch.dtype:
    """The dtype the forward computes in: that of the first floating input (else default)."""
    return next((x.dtype for x in inputs if x.is_floating_point()), torch.get_default_dtype())


def _zeros_jacobian(x: torch.Tensor, n_out: int, dtype: torch.dtype) -> torch.Tensor:
    """The Jacobian of an integer (non-differentiable, held fixed) input: zeros."""
    return torch.zeros((x.shape[0], n_out, *x.shape[1:]), dtype=dtype, device=x.device)


def _with_fixed_inputs(
    inputs: Inputs, floating: list[int], grads: Inputs, n_out: int, dtype: torch.dtype
) -> Inputs:
    """Per input, its Jacobian: ``grads`` for the floating ones, zeros for those held fixed.

    Zeros are allocated only for the fixed inputs (a ``[N, T, p]`` zero fill of every
    input cost about a sixth of a discrete head's whole Jacobian).
    """
    by_input = dict(zip(floating, grads, strict=True))
    return tuple(
        by_input[i] if i in by_input else _zeros_jacobian(x, n_out, dtype)
        for i, x in enumerate(inputs)
    )


def low_rank_factors(
    forward: SurvivalForward, inputs: Inputs
) -> tuple[torch.Tensor, Inputs, torch.Tensor]:
    """The low-rank structure of a ``"head"`` forward's Jacobian.

    ``J[n, t, ...] = sum_k time_factors[n, t, k] * feature_factors[n, k, ...]`` with
    ``time_factors = d out / d raw`` (the transform's Jacobian, by one forward-mode pass
    per network output) and ``feature_factors = d raw / d x`` (one backward pass of the
    network per network output, for all rows at once).

    Args:
        forward: A ``"head"`` survival forward (e.g. proportional hazards, parametric).
        inputs: Tuple of input tensors ``[N, *S_i]``.

    Returns:
        ``(time_factors [N, T, K], feature_factors (tuple of [N, K, *S_i]),
        outputs [N, T])``, K the number of network outputs per row. Integer inputs are
        held fixed: their feature factors are zeros.
    """
    net, inputs = forward.prepare_inputs(*inputs)
    leaves = _leaf(inputs)
    wrt = [x for x in leaves if x.requires_grad]
    with torch.enable_grad():
        raw = forward.run_network(net, *leaves)
        flat = raw.reshape(raw.shape[0], -1)
        n, k = flat.shape
        columns = [
            torch.autograd.grad(flat[:, j].sum(), wrt, retain_graph=j < k - 1, allow_unused=True)
            if wrt
            else ()
            for j in range(k)
        ]
    flat = flat.detach()

    def transform(values: torch.Tensor) -> torch.Tensor:
        return forward.output_from_network(values.reshape(raw.shape))

    d_out = []
    for j in range(k):  # the transform acts on each row alone: one pass per network output
        tangent = torch.zeros_like(flat)
        tangent[:, j] = 1
        outputs, d = torch.func.jvp(transform, (flat,), (tangent,))
        d_out.append(d)
    time_factors = torch.stack(d_out, dim=2)
    grads = [iter(c) for c in columns]
    features = tuple(
        torch.stack([_zero_if_unused(next(g), x) for g in grads], dim=1)
        if x.requires_grad
        else torch.zeros((n, k, *x.shape[1:]), dtype=flat.dtype, device=x.device)
        for x in leaves
    )
    return time_factors, features, outputs


def _zero_if_unused(grad: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    """An input the network does not use has zero gradient."""
    return torch.zeros_like(x) if grad is None else grad


def _low_rank_product(time_factors: torch.Tensor, features: Inputs) -> Inputs:
    """``sum_k time_factors[n, t, k] * features[n, k, ...]`` per input, ``[N, T, *S]``."""
    n, n_out, _ = time_factors.shape
    return tuple(
        torch.bmm(time_factors, f.reshape(n, f.shape[1], -1)).reshape(n, n_out, *f.shape[2:])
        for f in features
    )


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
    return _with_fixed_inputs(inputs, floating, grads, n_out, out.dtype), out


def _forward_mode(
    fn: Callable[..., torch.Tensor], inputs: Inputs, floating: list[int], n: int, n_out: int
) -> Inputs:
    """One jvp per input feature (vmapped over the features), all rows at once."""
    directions = _unit_directions(inputs, floating)
    bases = [directions[i] for i in floating]

    def of_floating(*xs: torch.Tensor) -> torch.Tensor:
        args = list(inputs)
        for i, value in zip(floating, xs, strict=True):
            args[i] = value
        return fn(*args)

    primals = tuple(inputs[i] for i in floating)

    def directional(*tangents: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(of_floating, primals, tangents)[1]

    jac = torch.func.vmap(directional, in_dims=1)(*bases)  # [F_total, N, *T]
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


def _time_input(
    forward: SurvivalForward, net: nn.Module, inputs: Inputs
) -> tuple[Inputs, torch.Tensor]:
    """``"time_input"`` forwards: ``d g(x, s_j) / d x`` by one backward of stacked rows."""
    scaled = forward.network_times()
    n, n_t = inputs[0].shape[0], scaled.shape[0]
    x = inputs[0]
    split = first_layer_split(net) if len(inputs) == 1 and x.dim() == 2 and n_t else None
    if split is not None and x.is_floating_point() and split.n_features == x.shape[1]:
        # the first layer's input part once per row: d g / d x = (d g / d hidden) W_x;
        # rows in chunks of about PAIRS_PER_CHUNK (row, time) pairs, so that the
        # [pairs, width] activations stay in cache
        step = max(1, coxtime.PAIRS_PER_CHUNK // n_t)
        g = x.new_empty((n, n_t))
        d_x = x.new_empty((n, n_t, x.shape[1]))
        for start in range(0, n, step):
            rows = x[start : start + step]
            hidden = split.first_layer(rows, scaled).detach()
            chain = rest_jacobian(split.graph, split.linear_node, hidden)
            if chain is not None and chain[1].shape[1] == 1:
                # the rest is a chain: its gradient as matrix products, no autograd graph
                part, d_hidden = chain[0].reshape(-1), chain[1][:, 0]
            else:
                hidden.requires_grad_(True)
                with torch.enable_grad():
                    part = split.rest(hidden).reshape(-1)
                    (d_hidden,) = torch.autograd.grad(part.sum(), hidden)
            g[start : start + rows.shape[0]] = part.detach().reshape(-1, n_t)
            d_x[start : start + rows.shape[0]] = split.input_jacobian(d_hidden).reshape(
                -1, n_t, x.shape[1]
            )
        return forward.jacobian_from_network(g, (d_x,))
    stacked = _leaf(tuple(x.repeat_interleave(n_t, dim=0) for x in inputs))
    dtype = floating_dtype(inputs)
    t_col = scaled.to(dtype).repeat(n).reshape(-1, 1)
    wrt = [x for x in stacked if x.requires_grad]
    with torch.enable_grad():
        g = forward.run_network(net, *stacked, t_col).reshape(-1)
        grads = iter(torch.autograd.grad(g.sum(), wrt) if n_t and wrt else ())
    inner = tuple(
        next(grads).reshape(n, n_t, *x.shape[1:])
        if x.requires_grad and n_t
        else torch.zeros((n, n_t, *x.shape[1:]), dtype=dtype, device=x.device)
        for x in stacked
    )
    return forward.jacobian_from_network(g.detach().reshape(n, n_t), inner)


# ------------------------------------------------------------------ "head" forwards
#: Rows per chunk of :func:`head_jacobian`. Bounds memory (about ``D x rows x widest
#: layer`` numbers for D directions) whatever ``batch_size`` the caller uses, and keeps
#: the working set in cache: on one CPU thread (64x64 MLP, p = 20, 50 logits) chunks of
#: 256-2048 rows ran equally fast; 16,384 rows ran slower.
HEAD_CHUNK_ROWS = 1024

#: Points per evaluation of full (not low-rank) ``[points, T, p]`` Jacobians by the
#: gradient methods, whatever larger ``batch_size`` they are given: the engine chunks its
#: own work, so larger evaluations only add memory traffic. Measured on one CPU thread
#: (LogisticHazard, p = 20, T = 50, IntGrad(t) over 65,000 points): 1,024 and 2,048
#: points ran at the same speed, 4,096 about 1.4x slower, 65,536 slower still.
FULL_JACOBIAN_POINTS = 2048


def head_jacobian(
    forward: SurvivalForward,
    net: object,
    inputs: Inputs,
    chunk_rows: int | None = None,
    allow_forward_mode: bool = True,
) -> tuple[Inputs, torch.Tensor]:
    """Jacobian of a ``"head"`` forward: the network's to its logits, then the head's.

    ``out = head(phi(x))`` with ``phi`` the network's K logits per row (K = number of cuts,
    or risks x cuts for DeepHit). ``d out / d x = (d head / d phi) (d phi / d x)``:

    * forward mode when the input has at most K features: the p unit directions are pushed
      through the network layer by layer (:func:`~captum_surv.attr.forward_mode.network_tangents`)
      and then through the head (``jvp``), p passes in all;
    * reverse mode otherwise: K reverse passes of the network to its logits, times the
      head's ``[T, K]`` Jacobian (K ``jvp`` passes of the cheap head); or, when the grid has
      fewer time points T than K, T reverse passes of the whole map.

    Rows are processed in chunks of ``chunk_rows`` (default :data:`HEAD_CHUNK_ROWS`), so
    memory does not grow with the number of rows beyond the result itself.
    ``allow_forward_mode=False`` takes a reverse route whatever the sizes.
    """
    n = inputs[0].shape[0]
    floating = [i for i, x in enumerate(inputs) if x.is_floating_point()]
    n_features = sum(inputs[i][0].numel() for i in floating)
    n_out = forward.n_times
    if not floating or n == 0:
        with torch.no_grad():
            out = forward.output_from_network(forward.run_network(net, *inputs))
        return tuple(_zeros_jacobian(x, n_out, out.dtype) for x in inputs), out
    n_logits = _n_logits(forward, net, inputs)
    forward_mode = (
        allow_forward_mode
        and use_forward_mode(n_features, n_logits)
        and net not in _NO_FORWARD_AD_NETS
    )
    if not forward_mode and n_out < n_logits:  # T reverse passes of the whole map
        head = forward.output_from_network
        return _full_jacobian(lambda *xs: head(forward.run_network(net, *xs)), inputs, key=net)
    step = HEAD_CHUNK_ROWS if chunk_rows is None else chunk_rows
    # filled chunk by chunk (no concatenation): forward mode gives rows-first [N, D, T]
    # tangents, stored as they come (the result is a [N, T, D] view of them: a transposed
    # copy cost about a quarter of the whole Jacobian); reverse mode gives [N, T, D]
    full: torch.Tensor | None = None
    outputs = torch.empty(0)
    for start in range(0, n, step):
        chunk = tuple(x[start : start + step] for x in inputs)
        if forward_mode:
            try:
                jac, out = _head_forward_mode(forward, net, chunk, floating)
            except (NotImplementedError, RuntimeError, ValueError) as err:
                if not _is_forward_ad_error(err):
                    raise
                _remember_no_forward_ad(net)
                # start again on the route a later call takes, so that repeated calls
                # give bit-identical results (the routes differ in rounding)
                return head_jacobian(forward, net, inputs, chunk_rows, allow_forward_mode=False)
        else:
            jac, out = _head_reverse_mode(forward, net, chunk, floating)
        if full is None:
            full = jac.new_empty((n, *jac.shape[1:]))
            outputs = out.new_empty((n, n_out))
        full[start : start + out.shape[0]] = jac
        outputs[start : start + out.shape[0]] = out
    assert full is not None
    if forward_mode:
        full = full.transpose(1, 2)  # [N, T, D] (a view)
    split = _split_features(full, inputs, floating)
    return _with_fixed_inputs(inputs, floating, split, n_out, outputs.dtype), outputs


def weighted_jacobian_sums(
    forward: SurvivalForward, points: Inputs, scales: Inputs, owner: torch.Tensor
) -> tuple[torch.Tensor, Inputs] | None:
    """Per run of equal ``owner``, ``sum_p scales_p * J(z_p)`` without forming ``J``.

    The gradient methods need only these sums (e.g. IntGrad(t): path weight times
    ``x - x'`` times the Jacobian, summed over an instance's path points). On the forward
    mode route of a ``"head"`` forward the scales are folded into the directions (row n's
    direction of feature j is ``scales[n, j]`` times the unit vector, the same cost as the
    unit one), and the sums are taken on the rows-first tangents, so no ``[points, T, p]``
    Jacobian is written, transposed or multiplied.

    Each run is summed in pieces of at most :data:`HEAD_CHUNK_ROWS` rows that depend only
    on the run's length, so an instance's sum is the same however the points around it
    are chunked.

    Args:
        forward: The survival forward.
        points: Sample points, per input ``[P, *S_i]``.
        scales: Per input ``[P, *S_i]`` factors (ignored for inputs held fixed).
        owner: ``[P]`` non-decreasing owner (instance) index of each point.

    Returns:
        ``(owners, sums)``: the distinct owners in order and per input ``[owners, T, *S_i]``
        sums (zeros for inputs held fixed); or None where another route applies (the
        caller then weights full Jacobians from :func:`output_jacobian`).
    """
    if forward.structure != "head" or is_low_rank(forward, points):
        return None
    if forward.unconditional_forward is not None and not forward.conditions_in_head:
        return None
    net, inputs = forward.prepare_inputs(*points)
    n = inputs[0].shape[0]
    floating = [i for i, x in enumerate(inputs) if x.is_floating_point()]
    if not floating or n == 0:
        return None
    n_features = sum(inputs[i][0].numel() for i in floating)
    forward_mode = use_forward_mode(n_features, _n_logits(forward, net, inputs))
    if forward_mode and net in _NO_FORWARD_AD_NETS:
        return None
    if not forward_mode and not _chain_applies(net, inputs):
        return None
    factors = tuple(
        scales[i].to(device=x.device, dtype=x.dtype) if i in floating else x
        for i, x in enumerate(inputs)
    )
    owners, counts = torch.unique_consecutive(owner, return_counts=True)
    pieces = _pieces(counts.tolist(), HEAD_CHUNK_ROWS)
    totals: torch.Tensor | None = None  # [owners, D, T]
    for first, lengths, run_of_piece in pieces:
        stop = first + sum(lengths)
        rows = tuple(x[first:stop] for x in inputs)
        row_scales = tuple(f[first:stop] for f in factors)
        if not forward_mode:
            d_out, _ = _head_chain(forward, net, rows, row_scales[0])
        else:
            try:
                d_out, _ = _head_forward_mode(forward, net, rows, floating, row_scales)
            except (NotImplementedError, RuntimeError, ValueError) as err:
                if not _is_forward_ad_error(err):
                    raise
                _remember_no_forward_ad(net)
                return None  # the caller's route is the one later calls take
        sums = sum_runs(d_out, lengths)
        if totals is None:
            totals = sums.new_zeros((len(owners), *sums.shape[1:]))
        totals.index_add_(0, torch.tensor(run_of_piece, device=sums.device), sums)
    assert totals is not None
    full = totals.transpose(1, 2)  # [owners, T, D] (small: no copy needed)
    split = _split_features(full, inputs, floating)  # per input [owners, T, *S_i]
    shapes = tuple(x.new_empty((len(owners), *x.shape[1:])) for x in inputs)
    return owners, _with_fixed_inputs(shapes, floating, split, full.shape[1], totals.dtype)


def sum_runs(values: torch.Tensor, lengths: list[int]) -> torch.Tensor:
    """Sums of consecutive runs of rows of ``values`` with the given lengths: one reshape
    when the runs are equally long (faster than a scatter on CPU), else one sum per run."""
    if len(set(lengths)) == 1:
        return values.reshape(len(lengths), lengths[0], *values.shape[1:]).sum(dim=1)
    return torch.stack([part.sum(dim=0) for part in values.split(lengths)])


def _n_logits(forward: SurvivalForward, net: object, inputs: Inputs) -> int:
    """The network's outputs per row (K logits; risks x cuts for DeepHit), from one row."""
    with torch.no_grad():
        return forward.run_network(net, *(x[:1] for x in inputs))[0].numel()


def _pieces(runs: list[int], limit: int) -> list[tuple[int, list[int], list[int]]]:
    """Split runs of rows into pieces of at most ``limit`` rows (a run's pieces depend only
    on its length), packed in order into chunks of at most ``limit`` rows.

    Returns per chunk ``(first row, piece lengths, run index of each piece)``.
    """
    chunks: list[tuple[int, list[int], list[int]]] = []
    start = 0
    lengths: list[int] = []
    runs_of: list[int] = []
    used = 0
    for run, length in enumerate(runs):
        while length > 0:
            piece = min(length, limit)
            if used + piece > limit and lengths:
                chunks.append((start, lengths, runs_of))
                start, lengths, runs_of, used = start + used, [], [], 0
            lengths.append(piece)
            runs_of.append(run)
            used += piece
            length -= piece
    if lengths:
        chunks.append((start, lengths, runs_of))
    return chunks


# networks (or their dtype-converted callables) seen to lack a forward-mode derivative
_NO_FORWARD_AD_NETS: weakref.WeakSet[object] = weakref.WeakSet()


def _remember_no_forward_ad(net: object) -> None:
    try:
        _NO_FORWARD_AD_NETS.add(net)
    except TypeError:  # not weak-referenceable: decide again next time
        pass


def _unit_directions(
    inputs: Inputs, floating: list[int], scales: Inputs | None = None
) -> list[torch.Tensor | None]:
    """Per input, the unit directions of every floating feature, rows first:
    ``[N, D, *S]`` (None for inputs held fixed). With ``scales`` (per input ``[N, *S]``),
    row n's direction of feature j is ``scales[n, j]`` times the unit vector."""
    n = inputs[0].shape[0]
    n_features = sum(inputs[i][0].numel() for i in floating)
    directions: list[torch.Tensor | None] = [None] * len(inputs)
    offset = 0
    for i in floating:
        x = inputs[i]
        width = x[0].numel()
        basis = torch.zeros((n, n_features, width), dtype=x.dtype, device=x.device)
        diagonal = basis[:, offset : offset + width].diagonal(dim1=1, dim2=2)
        if scales is None:
            diagonal.fill_(1)
        else:
            diagonal.copy_(scales[i].reshape(n, width))
        directions[i] = basis.reshape(n, n_features, *x.shape[1:])
        offset += width
    return directions


def _split_features(jac: torch.Tensor, inputs: Inputs, floating: list[int]) -> Inputs:
    """``[N, T, D]`` -> per floating input ``[N, T, *S_i]``."""
    result = []
    offset = 0
    for i in floating:
        shape = inputs[i].shape[1:]
        width = inputs[i][0].numel()
        result.append(jac[..., offset : offset + width].reshape(*jac.shape[:2], *shape))
        offset += width
    return tuple(result)


def _head_forward_mode(
    forward: SurvivalForward,
    net: object,
    inputs: Inputs,
    floating: list[int],
    scales: Inputs | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """p directions through the network (layer by layer) and then through the head.

    Returns ``(d_out, out)`` with ``d_out`` rows first, ``[N, D, T]``; with ``scales``
    (per input ``[N, *S]``) direction j of row n is ``scales[n, j]`` times the unit one,
    so ``d_out[n, j]`` is ``scales[n, j] * J[n, :, j]`` at no extra cost.
    """
    directions = _unit_directions(inputs, floating, scales)
    with torch.no_grad():  # the Jacobian is returned detached: record no graph
        raw, d_raw = _network_directions(forward, net, inputs, floating, directions, scales)
        return _through_head(forward, raw, d_raw)


def _through_head(
    forward: SurvivalForward, raw: torch.Tensor, d_raw: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows-first tangents ``[N, D, *R]`` of the network's outputs -> ``([N, D, T], out)``:
    the head's closed form where it has one, else ``jvp`` of the head per direction."""
    n, d = raw.shape[0], d_raw.shape[1]
    closed_form = forward.output_tangents(raw, d_raw)
    if closed_form is not None:
        out, d_out = closed_form
        return d_out, out
    flat = raw.reshape(n, -1)

    def head(values: torch.Tensor) -> torch.Tensor:
        return forward.output_from_network(values.reshape(raw.shape))

    def directional(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.func.jvp(head, (flat,), (t,))

    with torch.no_grad():
        out, d_out = torch.func.vmap(directional, in_dims=1, out_dims=(None, 1))(
            d_raw.reshape(n, d, -1)
        )
    return d_out, out


def _chain_applies(net: object, inputs: Inputs) -> bool:
    """Whether the reverse chain route (:mod:`~captum_surv.attr.layer_chain`) applies: one
    ``[N, p]`` floating input into a chain network without hooks."""
    return (
        len(inputs) == 1
        and inputs[0].dim() == 2
        and inputs[0].is_floating_point()
        and is_chain(net)
        and not has_forward_hooks(net)
    )


def _head_chain(
    forward: SurvivalForward, net: object, inputs: Inputs, scale: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A chain network's Jacobian to its K logits in reverse mode (all K rows at once, as
    matrix products), then through the head: ``([N, D, T], out)`` rows first; with
    ``scale`` ``[N, p]`` the feature columns are scaled as in :func:`_head_forward_mode`."""
    raw, jac = chain_jacobian(net, inputs[0])  # [N, K, p]
    if scale is not None:  # in place unless jac is a view of a weight (one linear layer)
        factor = scale.to(jac.dtype)[:, None, :]
        jac = jac.mul_(factor) if jac.is_contiguous() else jac * factor
    with torch.no_grad():
        return _through_head(forward, raw, jac.reshape(*raw.shape, -1).movedim(-1, 1))


def _network_directions(
    forward: SurvivalForward,
    net: object,
    inputs: Inputs,
    floating: list[int],
    directions: list[torch.Tensor | None],
    scales: Inputs | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's outputs and their derivatives along ``directions`` (rows first)."""
    try:
        return network_tangents(net, inputs, directions, unit=True, scales=scales)
    except Exception:  # untraceable or unsupported node: differentiate the network whole
        pass

    def of_floating(*xs: torch.Tensor) -> torch.Tensor:
        args = list(inputs)
        for i, value in zip(floating, xs, strict=True):
            args[i] = value
        return forward.run_network(net, *args)

    primals = tuple(inputs[i] for i in floating)

    def directional(*tangents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.func.jvp(of_floating, primals, tangents)

    return torch.func.vmap(directional, in_dims=1, out_dims=(None, 1))(
        *(directions[i] for i in floating)
    )


def _head_reverse_mode(
    forward: SurvivalForward, net: object, inputs: Inputs, floating: list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """K reverse passes of the network to its logits, times the head's Jacobian.

    For a chain network (one input) the K passes are a few matrix products
    (:func:`_head_chain`); otherwise K autograd passes, batched as one graph.
    Returns ``([N, T, D], out)``.
    """
    if _chain_applies(net, inputs):
        d_out, out = _head_chain(forward, net, inputs)
        return d_out.transpose(1, 2), out
    leaves = _leaf(inputs)
    wrt = [leaves[i] for i in floating]
    with torch.enable_grad():
        raw = forward.run_network(net, *leaves)
        n = raw.shape[0]
        flat = raw.reshape(n, -1)
        k = flat.shape[1]
        columns = [
            torch.autograd.grad(flat[:, j].sum(), wrt, retain_graph=j < k - 1, allow_unused=True)
            for j in range(k)
        ]
    flat = flat.detach()

    def head(values: torch.Tensor) -> torch.Tensor:
        return forward.output_from_network(values.reshape(raw.shape))

    def directional(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.func.jvp(head, (flat,), (t,))

    basis = torch.eye(k, dtype=flat.dtype, device=flat.device)[:, None, :].expand(k, n, k)
    out, d_head = torch.func.vmap(directional, out_dims=(None, 0))(basis)  # [K, N, T]
    d_head = d_head.permute(1, 2, 0)  # [N, T, K]
    d_net = torch.cat(
        [
            torch.stack([_zero_if_unused(c[j], x) for c in columns], dim=1).reshape(n, k, -1)
            for j, x in enumerate(wrt)
        ],
        dim=2,
    )  # [N, K, D]
    return torch.bmm(d_head, d_net), out  # [N, T, D]
