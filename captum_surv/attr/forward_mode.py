"""Forward-mode derivatives of a network in many directions at once, layer by layer.

``network_tangents(net, inputs, tangents)`` returns ``net(*inputs)`` and its directional
derivatives along ``D`` tangent directions, ``[batch, D, *output.shape[1:]]`` (rows
first), exactly as ``torch.func.vmap`` over ``torch.func.jvp`` of the whole network would,
but faster on CPU: the network is traced once with :mod:`torch.fx`, and its graph is run
node by node. An ``nn.Linear`` node maps all ``D`` tangents with one matrix product
(``t @ W^T``, the bias has no tangent); elementwise activations scale the tangents by their
derivative, in place where no other node reads them; every other node is differentiated
by ``vmap`` over ``jvp`` of that node alone, so any operation PyTorch can differentiate in
forward mode is supported. Tangents are kept rows first (``[batch, D, ...]``): each row's
directions stay together in memory, so the matrix products read and write contiguous
blocks and the caller's per-row reductions need no transposition.
Measured on one CPU thread (64x64 MLP, 5,000 rows, 20 directions) this is faster than 20
reverse passes, whereas ``vmap(jvp)`` of the whole network takes about twice as long (the
batched bias and layout copies of ``nn.Linear``'s batching rule).

Networks that cannot be traced (data-dependent control flow), nodes with outputs other
than one tensor that carry a tangent, and networks whose parameters are swapped in by
:func:`torch.func.functional_call` (another dtype than the model's) raise
:class:`Untraceable`; the caller then differentiates the whole network with
``vmap(jvp)``, which gives the same numbers.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import cast

import torch
from torch import fx, nn

from captum_surv.models.base import has_forward_hooks

__all__ = ["Untraceable", "network_tangents", "traced"]


class Untraceable(Exception):
    """The layer-by-layer route does not apply to this network (use ``vmap(jvp)``)."""


_TRACES: weakref.WeakKeyDictionary[nn.Module, fx.GraphModule | None] = weakref.WeakKeyDictionary()

# elementwise activations: tangent from the output, as their jvp formulas compute it;
# ``(t, y, out)`` with ``y`` broadcast over the directions and ``out`` None or ``t`` (in place)
_ActivationTangent = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def _relu_tangent(t: torch.Tensor, y: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    if out is None:
        return torch.ops.aten.threshold_backward(t, y, 0)
    return torch.ops.aten.threshold_backward.grad_input(t, y, 0, grad_input=out)


def _tanh_tangent(t: torch.Tensor, y: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    if out is None:
        return torch.ops.aten.tanh_backward(t, y)
    return torch.ops.aten.tanh_backward.grad_input(t, y, grad_input=out)


def _sigmoid_tangent(t: torch.Tensor, y: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    if out is None:
        return torch.ops.aten.sigmoid_backward(t, y)
    return torch.ops.aten.sigmoid_backward.grad_input(t, y, grad_input=out)


ACTIVATION_TANGENTS: dict[object, _ActivationTangent] = {
    nn.ReLU: _relu_tangent,
    nn.Tanh: _tanh_tangent,
    nn.Sigmoid: _sigmoid_tangent,
    torch.relu: _relu_tangent,
    torch.nn.functional.relu: _relu_tangent,
    torch.tanh: _tanh_tangent,
    torch.sigmoid: _sigmoid_tangent,
}

# nodes whose outputs carry no derivative (shapes, sizes, dtypes)
_NO_TANGENT_METHODS = frozenset({"size", "dim", "numel", "type", "get_device", "ndimension"})


def traced(net: object) -> fx.GraphModule | None:
    """The network's :mod:`torch.fx` graph (cached per module), or None if untraceable.

    The graph module shares the network's submodules (hooks registered on them fire).
    """
    if not isinstance(net, nn.Module):
        return None
    if net in _TRACES:
        return _TRACES[net]
    try:
        graph = fx.symbolic_trace(net)
    except Exception:  # fx fails in many ways (control flow, unsupported ops): fall back
        graph = None
    _TRACES[net] = graph
    return graph


def network_tangents(
    net: object,
    inputs: Sequence[torch.Tensor],
    tangents: Sequence[torch.Tensor | None],
    unit: bool = False,
    scales: Sequence[torch.Tensor | None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``net(*inputs)`` and its derivatives along ``D`` directions, layer by layer.

    Args:
        net: The network (an ``nn.Module``; anything else raises :class:`Untraceable`).
        inputs: The network's input tensors.
        tangents: Per input, ``[batch, D, *input.shape[1:]]`` directions (rows first), or
            None for an input held fixed (e.g. integer category codes).
        unit: Whether the directions of each two-dimensional input are the unit vectors of
            its features (after those of the inputs before it), each times ``scales``. A
            linear layer fed by such an input then builds its tangents from its weight
            instead of multiplying the directions. Default: False.
        scales: With ``unit``, per input None (unit vectors) or ``[batch, width]`` factors
            of the directions (the tangents already hold them). Default: None.

    Returns:
        ``(output, tangent)`` with ``tangent`` shaped ``[batch, D, *output.shape[1:]]``,
        both without autograd history (the walk records no graph, which also lets
        activations overwrite tangents no other node reads).

    Raises:
        Untraceable: The network cannot be run node by node; use ``vmap(jvp)`` instead.
    """
    graph = traced(net)
    if graph is None:
        raise Untraceable("the network cannot be traced with torch.fx")
    if has_forward_hooks(net):  # linear layers are computed here, not called
        raise Untraceable("the network or one of its modules has forward hooks")
    with torch.no_grad():
        return _walk(graph, inputs, tangents, unit, scales)


def _walk(
    graph: fx.GraphModule,
    inputs: Sequence[torch.Tensor],
    tangents: Sequence[torch.Tensor | None],
    unit: bool,
    scales: Sequence[torch.Tensor | None] | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    state = _Walk(dict(graph.named_modules()))
    position = 0
    offset = 0
    for node in graph.graph.nodes:
        if node.op == "placeholder":
            if position >= len(inputs):
                raise Untraceable("the network has more inputs than were passed")
            x, t = inputs[position], tangents[position]
            state.primal[node], state.tangent[node] = x, t
            if unit and t is not None:
                if x.dim() == 2:
                    scale = None if scales is None else scales[position]
                    state.basis[node] = (offset, t.shape[1], scale)
                offset += x[0].numel()
            position += 1
        elif node.op == "get_attr":
            state.primal[node], state.tangent[node] = _attribute(graph, node.target), None
        elif node.op == "output":
            result = node.args[0]
            if not isinstance(result, fx.Node) or state.tangent.get(result) is None:
                raise Untraceable("the network's output is not one tensor with a tangent")
            return state.primal[result], state.tangent[result]
        else:
            state.primal[node], state.tangent[node] = _propagate(node, state)
    raise Untraceable("the graph has no output")  # pragma: no cover - fx always has one


class _Walk:
    """What the walk through the graph knows: values, tangents, and which it may overwrite."""

    def __init__(self, modules: dict[str, nn.Module]) -> None:
        self.modules = modules
        self.primal: dict[fx.Node, object] = {}
        self.tangent: dict[fx.Node, torch.Tensor | None] = {}
        # unit-direction inputs: (first direction, number of directions, scales or None)
        self.basis: dict[fx.Node, tuple[int, int, torch.Tensor | None]] = {}
        # nodes whose tangent was allocated here (not a view of another or the caller's)
        self.owned: set[fx.Node] = set()
        # fused first layers: the last linear layer of a chain -> the chain's first node;
        # nodes inside a chain carry (instead of tangents) their derivative so far
        self.fused: dict[fx.Node, fx.Node] = {}
        self.chain: dict[fx.Node, torch.Tensor | None] = {}

    def writable(self, node: fx.Node) -> bool:
        """Whether ``node``'s tangent may be overwritten by its only reader."""
        return node in self.owned and len(node.users) == 1


def _attribute(graph: fx.GraphModule, target: str) -> object:
    value: object = graph
    for name in target.split("."):
        value = getattr(value, name)
    return value


def _propagate(node: fx.Node, state: _Walk) -> tuple[object, torch.Tensor | None]:
    """One node: its value and its derivatives along every direction."""
    primal, tangent = state.primal, state.tangent
    if node.op == "call_module":
        fn = state.modules[node.target]
    elif node.op == "call_function":
        fn = node.target
    else:  # call_method

        def fn(obj: object, *args: object, **kwargs: object) -> object:
            return getattr(obj, node.target)(*args, **kwargs)

    if node in state.chain or node in state.fused:
        return _propagate_chain(node, fn, state)
    active = [n for n in node.all_input_nodes if tangent.get(n) is not None]
    if not active or _carries_no_tangent(node):
        args = fx.node.map_arg(node.args, primal.__getitem__)
        kwargs = fx.node.map_arg(node.kwargs, primal.__getitem__)
        return fn(*args, **kwargs), None
    activation = ACTIVATION_TANGENTS.get(type(fn) if isinstance(fn, nn.Module) else fn)
    if activation is not None and len(node.args) == 1 and not node.kwargs:
        (source,) = node.args
        if isinstance(source, fx.Node):
            t = tangent[source]  # before fn: an in-place activation overwrites its input
            out = fn(primal[source])
            state.owned.add(node)
            return out, activation(t, out.unsqueeze(1), t if state.writable(source) else None)
    if _is_diagonal(node, fn, state):  # eval-mode dropout or batch norm (activations above)
        (source,) = node.args
        t = tangent[source]
        out = fn(primal[source])
        factor = diagonal_derivative(fn, out)
        if factor is None:  # identity: the same tensor, owned as the source's was
            if state.writable(source):
                state.owned.add(node)
            return out, t
        state.owned.add(node)
        if state.writable(source):
            return out, t.mul_(factor)
        return out, t * factor
    if isinstance(fn, nn.Linear) and len(node.args) == 1 and not node.kwargs:
        (source,) = node.args
        if isinstance(source, fx.Node):
            if source in state.basis and _start_chain(node, fn, state):
                return _propagate_chain(node, fn, state)
            out = fn(primal[source])
            if source in state.basis:  # unit directions: the weight's columns, for every row
                first, count, scale = state.basis[source]
                if scale is not None:  # a new tensor (else a view of the weight)
                    state.owned.add(node)
                return out, _basis_tangent(fn.weight, out.shape[0], first, count, scale)
            state.owned.add(node)
            # the bias has no tangent: t -> t @ W^T for all directions in one product
            return out, torch.matmul(tangent[source], fn.weight.t())

    def call(*values: torch.Tensor) -> torch.Tensor:
        swap = dict(zip(active, values, strict=True))

        def pick(n: fx.Node) -> object:
            return swap[n] if n in swap else primal[n]

        out = fn(*fx.node.map_arg(node.args, pick), **fx.node.map_arg(node.kwargs, pick))
        if not isinstance(out, torch.Tensor):
            raise Untraceable(f"node {node.name} returns {type(out).__name__}, not a tensor")
        return out

    primals = tuple(primal[n] for n in active)

    def directional(*ts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.func.jvp(call, primals, ts)

    return torch.func.vmap(directional, in_dims=1, out_dims=(None, 1))(
        *(tangent[n] for n in active)
    )


def per_feature_map(fn: object) -> bool:
    """Whether ``fn`` maps each feature on its own with a derivative computable from its
    output: an elementwise activation, eval-mode dropout (identity) or eval-mode batch norm
    with running statistics (a per-feature scale)."""
    if isinstance(fn, nn.Dropout):
        return not fn.training
    if isinstance(fn, nn.BatchNorm1d):
        return not fn.training and fn.running_var is not None
    return (type(fn) if isinstance(fn, nn.Module) else fn) in ACTIVATION_TANGENTS


def _is_diagonal(node: fx.Node, fn: object, state: _Walk) -> bool:
    """Whether ``node`` applies the per-feature map ``fn`` to one node's ``[batch,
    features]`` value (batch norm of other shapes normalises another axis)."""
    if len(node.args) != 1 or node.kwargs or not isinstance(node.args[0], fx.Node):
        return False
    if not per_feature_map(fn):
        return False
    value = state.primal.get(node.args[0])
    # unknown yet (a chain looked at ahead): a linear layer's output, two-dimensional
    return not isinstance(fn, nn.BatchNorm1d) or value is None or getattr(value, "ndim", 0) == 2


def diagonal_derivative(fn: object, out: torch.Tensor) -> torch.Tensor | None:
    """Derivative of a per-feature map of ``[batch, features]``: ``[batch, features]``
    (activations), ``[features]`` (batch norm) or None (the identity)."""
    if isinstance(fn, nn.BatchNorm1d):
        assert fn.running_var is not None
        factor = torch.rsqrt(fn.running_var + fn.eps)
        if fn.weight is not None:
            factor = factor * fn.weight
        return factor.to(out.dtype)
    if isinstance(fn, nn.Dropout):
        return None
    activation = ACTIVATION_TANGENTS[type(fn) if isinstance(fn, nn.Module) else fn]
    return activation(torch.ones_like(out), out, None)


def _node_function(node: fx.Node, state: _Walk) -> object | None:
    """The module or function a ``call_module``/``call_function`` node calls (else None)."""
    if node.op == "call_module":
        return state.modules[node.target]
    return node.target if node.op == "call_function" else None


def _start_chain(first: fx.Node, layer: nn.Linear, state: _Walk) -> bool:
    """Fuse ``Linear -> per-feature maps -> Linear`` fed by unit directions of one input.

    The tangent of the second linear layer along direction j is
    ``W2 diag(f'(a)) W1[:, j]`` with ``f'`` the product of the maps' derivatives, i.e. for
    all rows and directions at once ``f'(a) @ P`` with ``P[k, j, i] = W1[k, j] W2[i, k]``:
    one well-shaped matrix product, with no tangent of the first layer formed at all.
    Applies when every node of the chain has exactly one reader and the input's directions
    are all the directions (one floating input). Records the chain and returns True.
    """
    (source,) = first.args
    begin, count, _ = state.basis[source]
    if begin != 0 or count != layer.weight.shape[1]:
        return False
    node = first
    chain = [first]
    while len(node.users) == 1:
        (reader,) = node.users
        if _is_diagonal(reader, _node_function(reader, state), state):
            chain.append(reader)
            node = reader
            continue
        if (
            reader.op == "call_module"
            and isinstance(state.modules[reader.target], nn.Linear)
            and len(reader.args) == 1
            and not reader.kwargs
            and len(chain) > 1
        ):
            for member in chain:
                state.chain[member] = None
            state.fused[reader] = first
            return True
        return False
    return False


def _propagate_chain(node: fx.Node, fn: object, state: _Walk) -> tuple[object, torch.Tensor | None]:
    """A node of a fused chain (see :func:`_start_chain`): its value, and for the chain's
    last linear layer its tangents; the other nodes carry the derivative so far."""
    (source,) = node.args
    out = fn(state.primal[source])
    if node in state.fused:
        first = state.fused[node]
        (inputs,) = first.args
        _, count, scale = state.basis[inputs]
        inner = cast(nn.Linear, state.modules[first.target]).weight  # [hidden, p]
        outer = cast(nn.Linear, fn).weight  # [out, hidden]
        derivative = state.chain[source]
        rows = out.shape[0]
        if derivative is None:
            derivative = inner.new_ones((rows, inner.shape[0]))
        pairs = (inner[:, :, None] * outer.t()[:, None, :]).reshape(inner.shape[0], -1)
        tangent = torch.matmul(derivative.expand(rows, -1), pairs).view(rows, count, -1)
        if scale is not None:
            tangent.mul_(scale.to(tangent.dtype)[:, :, None])
        state.owned.add(node)
        return out, tangent
    if node.op == "call_module" and isinstance(fn, nn.Linear):  # the chain's first layer
        state.chain[node] = None
        return out, None
    factor = diagonal_derivative(fn, out)
    if factor is not None:
        before = state.chain[source]
        state.chain[node] = factor if before is None else before * factor
    else:
        state.chain[node] = state.chain[source]
    return out, None


def _basis_tangent(
    weight: torch.Tensor, rows: int, first: int, count: int, scale: torch.Tensor | None
) -> torch.Tensor:
    """Tangents of ``x @ W^T`` along (scaled) unit directions of ``x``: ``[rows, count, out]``.

    Direction ``first + j`` moves feature ``j`` of ``x``, so its tangent is column ``j`` of
    ``W`` (times the row's scale ``scale[:, j]``); the other directions move other inputs.
    """
    width = weight.shape[1]
    # contiguous, so that the scaled tangents are too (the next matrix product then runs
    # as one product instead of one per row)
    columns = weight.t().contiguous()  # [width, out]
    if scale is None:
        full = weight.new_zeros((count, weight.shape[0]))
        full[first : first + width] = columns
        return full[None].expand(rows, count, weight.shape[0])  # a view: never written
    scaled = scale[:, :, None] * columns[None]  # [rows, width, out]
    if first == 0 and width == count:
        return scaled
    full = weight.new_zeros((rows, count, weight.shape[0]))
    full[:, first : first + width] = scaled
    return full


def _carries_no_tangent(node: fx.Node) -> bool:
    """Shape queries and the like: their results are not differentiable."""
    if node.op == "call_method":
        return node.target in _NO_TANGENT_METHODS
    return (
        node.op == "call_function"
        and node.target is getattr
        and node.args[1] in ("shape", "dtype", "device", "ndim")
    )
