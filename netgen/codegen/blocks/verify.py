"""The check of a written class: run on stand-ins for torch (fake.py), it must build and wire
exactly the graph's modules for every instance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...graph import Graph
from ...ops.emission import BinOp, Call, ListOf, OwnModule
from .. import fake
from ..translate import HELPERS, Untranslatable
from .values import BlockClass, chan

if TYPE_CHECKING:
    from .walk import Walk


class Checking:
    graph: Graph  # the writer's
    classes: dict[str, BlockClass]
    _fake_names: tuple[set[str], set[str]] | None = None
    _emission: dict[str, tuple[Any, Any]] | None = None
    _graph_args: dict[int, dict[str, str]] | None = None  # by id of a call `_emission` keeps alive

    def verify(self, cls: BlockClass, walk_of: dict[tuple[str, ...], Walk]) -> None:
        """Every instance (`walk_of`: its walk, shared by instances that walk alike) builds and
        wires its own part of the graph; a shared walk's stand-in model is built once."""
        ns = fake.namespace(*self.fake_names())
        source = "\n\n".join([*HELPERS.values()] + [c.text for c in list(self.classes.values()) + [cls]])
        exec(compile(source, "<netgen block check>", "exec"), ns)  # the helpers the file defines, as written
        models: dict[int, Any] = {}
        checked: dict = {}
        for path, walk in walk_of.items():
            if id(walk) not in models:
                _, positional, kwargs = self.call_for_check(cls, walk)
                models[id(walk)] = ns[cls.name](*positional, **kwargs)
            self.compare(models[id(walk)], path, checked, cls.sequential)

    def fake_names(self) -> tuple[set[str], set[str]]:
        """The class and function names the helper source defines, for fake.namespace (once per
        graph: each block's check asked again, over every op of the network)."""
        if self._fake_names is None:
            supports = {s for _, d in self.graph.ops() for s in d.op.emit_support()}
            # what builds a member (a class, or a function making an nn.Parameter) stands for a module
            targets = {c.target for _, d in self.graph.ops() if (c := d.op.emit_module(d.in_shapes, d.shape))}
            classes = {n for s in supports for n in s.defines if n[:1].isupper() or n in targets}
            self._fake_names = classes, {n for s in supports for n in s.defines} - classes
        return self._fake_names

    def call_for_check(self, cls: BlockClass, walk: Walk):
        env = walk.env
        kwargs = {p: env[p] for p in walk.params if p not in walk.dropped}
        if cls.reads_in_shape:
            kwargs["in_shape"] = tuple(env["in_shape"])
        kwargs.update(walk.flags)
        return cls, self.channels_of(walk.path), kwargs

    def channels_of(self, path: tuple[str, ...]) -> list[int]:
        """The channels a block call's constructor takes first: its input's, or each named input's."""
        named = self.graph.scopes[path].meta.get("block_inputs")
        if named:
            return [chan(self.graph[v].shape) for v in named]
        return [self.graph.scopes[path].meta["block_env"]["in_channels"]]

    def compare(self, model, path: tuple[str, ...], checked: dict | None = None, sequential: bool = False) -> None:
        """`model` builds and wires exactly the graph's modules under `path`. `checked` (one
        verify's): what this model already matched; an instance whose part of the graph reads
        the same (the modules, their calls, the output's wiring) is not checked again. In an
        nn.Sequential (`sequential`) the caller may also read a numbered child's output."""
        graph, n = self.graph, len(path)
        nodes = set(graph.nodes_under(path))
        expected: dict[str, Any] = {}
        trees: dict[str, Any] = {}
        scope_inputs = [s for node in nodes for s in graph.inputs_of(node) if s not in nodes]
        # forward's arguments: the block's input, or its named inputs in their order (the first
        # stands for `x` in the trees, the others by their place)
        named = graph.scopes[path].meta.get("block_inputs")
        sources = list(named or dict.fromkeys(scope_inputs))
        if (named is None and len(sources) != 1) or len(set(sources)) != len(sources) or \
                not set(scope_inputs) <= set(sources):
            raise Untranslatable("a block with several inputs, or the same value as two")
        places = {source: ("input",) if i == 0 else ("input", i) for i, source in enumerate(sources)}

        def tree(node):
            if node in places:
                return places[node]
            if node in trees:
                return trees[node]
            data = graph.op_node(node)
            inputs = [tree(s) for s in graph.inputs_of(node)]
            rel = ".".join(data.path[n:])
            call, forward = self.emission(node)
            module = ("mod", rel) if call is not None else None
            trees[node] = fake.expected_tree(forward, inputs, module)
            return trees[node]

        calls = []
        for node in graph.nodes_under(path):
            data = graph.op_node(node)
            call, forward = self.emission(node)
            if call is None:
                continue
            rel = ".".join(data.path[n:])
            expected[rel] = call
            # a parameter is read, not called; a module handed to a function (ViT's
            # `self_attention(self.self_attention, x)`) is in the output's tree, not called here
            if not data.op.is_tensor and _calls_own_module(forward):
                calls.append((rel, [tree(s) for s in graph.inputs_of(node)]))
        outs = sorted((node for node in nodes if any(u not in nodes for u in graph.users_of(node))),
                      key=lambda node: graph[node].order)
        seen = (id(model), repr(expected), repr(calls))
        if checked is not None and len(outs) == 1 and seen in checked and checked[seen] == repr(tree(outs[0])):
            return
        leaves = fake.leaves(model)
        log: list = []
        for leaf in leaves:
            object.__setattr__(leaf, "log", log)
        built = {leaf.path: (leaf.target, leaf.args, leaf.kwargs) for leaf in leaves}
        if set(built) != set(expected):
            raise Untranslatable(f"modules differ: {sorted(set(built) ^ set(expected))[:4]}")
        for rel, call in expected.items():
            target, args, kwargs = built[rel]
            if target != call.target or fake.normalized_args(call, args, kwargs) != self.graph_args(call):
                raise Untranslatable(f"`{rel}` is built with other arguments")
        # a value read outside besides the output: only a numbered child's of an nn.Sequential,
        # which the caller reads by running the children (scope_classes.py, LR-ASPP's `backbone.4`)
        taps = outs[:-1]
        if not outs or (taps and not sequential) or not all(_child_output(graph, path, t) for t in taps):
            raise Untranslatable("a block with several outputs")
        result = model(*[fake.FakeTensor(places[source]) for source in sources])
        shapes: dict[str, Any] = {}

        def shape_of(value_tree):  # asked only where forward splits a value (`x.chunk(2, dim=1)`)
            if not shapes:
                shapes.update({repr(tree(node)): graph[node].shape for node in nodes})
                shapes.update({repr(places[source]): graph[source].shape for source in sources})
            return shapes.get(repr(value_tree))

        try:
            log[:] = [(rel, [fake.resolved(t, shape_of) for t in args]) for rel, args in log]
            result_tree = fake.resolved(result.tree, shape_of)
        except ValueError as exc:
            raise Untranslatable(str(exc)) from None
        if sorted(map(repr, log)) != sorted(map(repr, calls)) or result_tree != tree(outs[-1]):
            raise Untranslatable("forward wires the modules otherwise")
        if checked is not None:
            checked[seen] = repr(tree(outs[-1]))

    def graph_args(self, call) -> dict[str, str]:
        """fake.graph_args of a call `emission` returned, once per call."""
        if self._graph_args is None:
            self._graph_args = {}
        if id(call) not in self._graph_args:
            self._graph_args[id(call)] = fake.graph_args(call)
        return self._graph_args[id(call)]

    def emission(self, node: str) -> tuple[Any, Any]:
        """An op node's module call and forward expression, asked once per graph (a nested
        block's nodes are checked again with each block around them)."""
        if self._emission is None:
            self._emission = {}
        if node not in self._emission:
            data = self.graph.op_node(node)
            self._emission[node] = data.op.emit_module(data.in_shapes, data.shape), data.op.emit_forward(data.in_shapes)
        return self._emission[node]


def _calls_own_module(forward: Any) -> bool:
    """Whether a forward expression calls the op's own module (`self.conv(x)`), as fake.Leaf logs."""
    if isinstance(forward, Call):
        return isinstance(forward.fn, OwnModule) or any(map(_calls_own_module, forward.args))
    if isinstance(forward, BinOp):
        return any(map(_calls_own_module, forward.operands))
    if isinstance(forward, ListOf):
        return any(map(_calls_own_module, forward.items))
    return False


def _child_output(graph: Graph, path: tuple[str, ...], node: str) -> bool:
    """Whether `node` is the output of a numbered child of the scope at `path` (an op child, or
    the last node of a child scope)."""
    at = graph[node].path
    if len(at) <= len(path) or not at[len(path)].isdigit():
        return False
    child = at[:len(path) + 1]
    under = list(graph.nodes_under(child))
    return at == child if not under else node == max(under, key=lambda n: graph[n].order)
