"""Forward-mode derivatives of a network in many directions at once, layer by layer.

``network_tangents(net, inputs, tangents)`` returns ``net(*inputs)`` and its directional
derivatives along ``D`` tangent directions, ``[D, *output.shape]``, exactly as
``torch.func.vmap`` over ``torch.func.jvp`` of the whole network would, but faster on
CPU: the network is traced once with :mod:`torch.fx`, and its graph is run node by node.
An ``nn.Linear`` node maps all ``D`` tangents with one matrix product (``t @ W^T``, the
bias has no tangent); every other node is differentiated by ``vmap`` over ``jvp`` of that
node alone, so any operation PyTorch can differentiate in forward mode is supported.
Measured on one CPU thread (64x64 MLP, 5,000 rows, 20 directions) this takes about as
long as 20 reverse passes, whereas ``vmap(jvp)`` of the whole network takes about twice
as long (the batched bias and layout copies of ``nn.Linear``'s batching rule).

Networks that cannot be traced (data-dependent control flow), nodes with outputs other
than one tensor that carry a tangent, and networks whose parameters are swapped in by
:func:`torch.func.functional_call` (another dtype than the model's) raise
:class:`Untraceable`; the caller then differentiates the whole network with
``vmap(jvp)``, which gives the same numbers.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import torch
from torch import fx, nn

from captum_surv.models.base import has_forward_hooks

__all__ = ["Untraceable", "network_tangents", "traced"]


class Untraceable(Exception):
    """The layer-by-layer route does not apply to this network (use ``vmap(jvp)``)."""


_TRACES: weakref.WeakKeyDictionary[nn.Module, fx.GraphModule | None] = weakref.WeakKeyDictionary()

# elementwise activations: tangent from the output, as their jvp formulas compute it
_ACTIVATION_TANGENTS = {
    nn.ReLU: lambda t, y: torch.ops.aten.threshold_backward(t, y, 0),
    nn.Tanh: torch.ops.aten.tanh_backward,
    nn.Sigmoid: torch.ops.aten.sigmoid_backward,
    torch.relu: lambda t, y: torch.ops.aten.threshold_backward(t, y, 0),
    torch.nn.functional.relu: lambda t, y: torch.ops.aten.threshold_backward(t, y, 0),
    torch.tanh: torch.ops.aten.tanh_backward,
    torch.sigmoid: torch.ops.aten.sigmoid_backward,
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
) -> tuple[torch.Tensor, torch.Tensor]:
    """``net(*inputs)`` and its derivatives along ``D`` directions, layer by layer.

    Args:
        net: The network (an ``nn.Module``; anything else raises :class:`Untraceable`).
        inputs: The network's input tensors.
        tangents: Per input, ``[D, *input.shape]`` directions, or None for an input held
            fixed (e.g. integer category codes).

    Returns:
        ``(output, tangent)`` with ``tangent`` shaped ``[D, *output.shape]``.

    Raises:
        Untraceable: The network cannot be run node by node; use ``vmap(jvp)`` instead.
    """
    graph = traced(net)
    if graph is None:
        raise Untraceable("the network cannot be traced with torch.fx")
    if has_forward_hooks(net):  # linear layers are computed here, not called
        raise Untraceable("the network or one of its modules has forward hooks")
    primal: dict[fx.Node, object] = {}
    tangent: dict[fx.Node, torch.Tensor | None] = {}
    position = 0
    offset = 0
    basis: dict[fx.Node, tuple[int, int]] = {}  # unit-direction inputs: (first, count)
    modules = dict(graph.named_modules())
    for node in graph.graph.nodes:
        if node.op == "placeholder":
            if position >= len(inputs):
                raise Untraceable("the network has more inputs than were passed")
            x, t = inputs[position], tangents[position]
            primal[node], tangent[node] = x, t
            if unit and t is not None:
                if x.dim() == 2:
                    basis[node] = (offset, t.shape[0])
                offset += x[0].numel()
            position += 1
        elif node.op == "get_attr":
            primal[node], tangent[node] = _attribute(graph, node.target), None
        elif node.op == "output":
            result = node.args[0]
            if not isinstance(result, fx.Node) or tangent.get(result) is None:
                raise Untraceable("the network's output is not one tensor with a tangent")
            return primal[result], tangent[result]
        else:
            primal[node], tangent[node] = _propagate(node, modules, primal, tangent, basis)
    raise Untraceable("the graph has no output")  # pragma: no cover - fx always has one


def _attribute(graph: fx.GraphModule, target: str) -> object:
    value: object = graph
    for name in target.split("."):
        value = getattr(value, name)
    return value


def _propagate(
    node: fx.Node,
    modules: dict[str, nn.Module],
    primal: dict[fx.Node, object],
    tangent: dict[fx.Node, torch.Tensor | None],
    basis: dict[fx.Node, tuple[int, int]],
) -> tuple[object, torch.Tensor | None]:
    """One node: its value and its derivatives along every direction."""
    if node.op == "call_module":
        fn = modules[node.target]
    elif node.op == "call_function":
        fn = node.target
    else:  # call_method

        def fn(obj: object, *args: object, **kwargs: object) -> object:
            return getattr(obj, node.target)(*args, **kwargs)

    active = [n for n in node.all_input_nodes if tangent.get(n) is not None]
    if not active or _carries_no_tangent(node):
        args = fx.node.map_arg(node.args, primal.__getitem__)
        kwargs = fx.node.map_arg(node.kwargs, primal.__getitem__)
        return fn(*args, **kwargs), None
    activation = _ACTIVATION_TANGENTS.get(type(fn) if isinstance(fn, nn.Module) else fn)
    if activation is not None and len(node.args) == 1 and not node.kwargs:
        (source,) = node.args
        if isinstance(source, fx.Node):
            t = tangent[source]  # before fn: an in-place activation overwrites its input
            out = fn(primal[source])
            return out, activation(t, out)
    if isinstance(fn, nn.Linear) and len(node.args) == 1 and not node.kwargs:
        (source,) = node.args
        if isinstance(source, fx.Node):
            out = fn(primal[source])
            if source in basis:  # unit directions: the weight's columns, for every row
                first, count = basis[source]
                columns = fn.weight.new_zeros((count, fn.weight.shape[0]))
                columns[first : first + fn.weight.shape[1]] = fn.weight.t()
                return out, columns[:, None, :].expand(count, *out.shape)
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

    return torch.func.vmap(directional, out_dims=(None, 0))(*(tangent[n] for n in active))


def _carries_no_tangent(node: fx.Node) -> bool:
    """Shape queries and the like: their results are not differentiable."""
    if node.op == "call_method":
        return node.target in _NO_TANGENT_METHODS
    return (
        node.op == "call_function"
        and node.target is getattr
        and node.args[1] in ("shape", "dtype", "device", "ndim")
    )
