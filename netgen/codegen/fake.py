"""Checking a generated block class against the graph, without torch.

A block class is Python written from the blueprint's definition, not from the graph, so before
the file uses it the code generator runs it: the class source is executed against stand-ins for
`nn` and `torch` that record what would be built and called. For every instance of the block,
the stand-in module tree must equal the graph's modules under that scope (names, classes,
arguments), and the forward pass must wire them as the graph does (each module called once, on
the same inputs, and the same output). Values are compared as structure, not text:
`("mod", "conv1")` for a module's output, `("+", [...])` for a sum, `("torch.cat", ...)`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from ..lowering.split import part_sizes
from ..ops.emission import Arg, BinOp, Call, Input, Inputs, ListOf, ModuleCall, OwnModule, Root
from .printer import literal


def _flat(symbol: str, items: list) -> tuple:
    out = []
    for item in items:
        if symbol in ("+", "*") and isinstance(item, tuple) and item and item[0] == symbol:
            out += item[1]
        else:
            out.append(item)
    return (symbol, out)


def _tree(value: Any) -> Any:
    if isinstance(value, Leaf):  # a parameter used as a tensor (`out * self.layer_scale`)
        return ("mod", value.path)
    return value.tree if isinstance(value, FakeTensor) else ("lit", literal(value))


class FakeTensor:
    __slots__ = ("tree",)

    def __init__(self, tree):
        self.tree = tree

    def __add__(self, other):
        return FakeTensor(_flat("+", [self.tree, _tree(other)]))

    def __mul__(self, other):
        return FakeTensor(_flat("*", [self.tree, _tree(other)]))

    def __rmul__(self, other):  # a parameter first (ConvNeXt's `self.layer_scale * x`, torchvision's order)
        return FakeTensor(_flat("*", [_tree(other), self.tree]))

    def __truediv__(self, other):
        return FakeTensor(("/", [self.tree, _tree(other)]))

    # the parts of a split: marked with what cut them, and resolved into the graph's slices once
    # the input's shape is known (`resolved`), since a stand-in carries no shape
    def chunk(self, chunks, dim=0):
        return tuple(FakeTensor(("chunk", self.tree, chunks, dim, i)) for i in range(chunks))

    def split(self, sizes, dim=0):
        return tuple(FakeTensor(("split", self.tree, tuple(sizes), dim, i)) for i in range(len(sizes)))


class FakeModule:
    """Stands in for nn.Module: records submodules in assignment order."""

    training = False

    def __init__(self, *args, **kwargs):
        object.__setattr__(self, "_children", {})
        object.__setattr__(self, "calls", None)

    def __setattr__(self, name, value):
        children = self.__dict__["_children"]
        if isinstance(value, FakeModule):
            self.__dict__.pop(name, None)  # as nn.Module: a module replaces a plain attribute
            children[name] = value
        elif value is None and name in children:
            del children[name]
            object.__setattr__(self, name, None)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        children = self.__dict__.get("_children", {})
        if name in children:
            return children[name]
        raise AttributeError(name)

    def add_module(self, name, module):
        self.__dict__["_children"][str(name)] = module

    def children(self):
        return iter(list(self.__dict__["_children"].values()))

    def __call__(self, *inputs):
        return self.forward(*inputs)


class Leaf(FakeModule):
    """An nn.<Class>(...) or support-class instance: its arguments, and its calls when run."""

    def __init__(self, target, args, kwargs):
        super().__init__()
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kwargs", kwargs)
        object.__setattr__(self, "path", "")
        object.__setattr__(self, "log", None)

    def forward(self, *inputs):
        self.log.append((self.path, [_tree(i) for i in inputs]))
        return FakeTensor(("mod", self.path))


class Sequential(FakeModule):
    def __init__(self, *modules):
        FakeModule.__init__(self)
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def forward(self, x):
        for module in self.children():
            x = module(x)
        return x


class ModuleList(FakeModule):
    def __init__(self, modules=()):
        FakeModule.__init__(self)
        for index, module in enumerate(modules):
            self.add_module(str(index), module)

    def __getitem__(self, index):
        return list(self.children())[index]

    def __iter__(self):
        return self.children()

    def __len__(self):
        return len(self.__dict__["_children"])


class _Namespace:
    def __init__(self, factory):
        self._factory = factory

    def __getattr__(self, name):
        return self._factory(name)


def _nn(name):
    if name in ("Module", "ModuleDict"):  # a container: its members are what is built
        return FakeModule
    if name == "Sequential":
        return Sequential
    if name == "ModuleList":
        return ModuleList
    return lambda *args, **kwargs: Leaf(f"nn.{name}", args, kwargs)


def _torch(name):
    def call(*args):
        if name == "cat" and isinstance(args[0], list) and len(args[0]) == 1:
            return args[0][0]  # torch.cat of one tensor is that tensor's value
        items = [("list", [_tree(a) for a in arg]) if isinstance(arg, list) else _tree(arg) for arg in args]
        return FakeTensor((f"torch.{name}", items))

    return call


SAFE_BUILTINS = {name: getattr(builtins, name) for name in (
    "range", "len", "int", "float", "min", "max", "abs", "round", "sum", "list", "tuple", "super", "enumerate",
    "isinstance", "bool", "str", "getattr", "__build_class__")}


def namespace(support_classes: set[str], support_functions: set[str]) -> dict:
    ns: dict[str, Any] = {"__builtins__": SAFE_BUILTINS, "__name__": "netgen_check", "nn": _Namespace(_nn),
                          "torch": _Namespace(_torch)}
    for name in support_classes:
        ns[name] = lambda *args, _n=name, **kwargs: Leaf(_n, args, kwargs)
    for name in support_functions:
        ns[name] = lambda *args, _n=name: FakeTensor((_n, [_tree(a) for a in args]))
    return ns


def leaves(module: FakeModule, prefix: str = "") -> list[Leaf]:
    """Every leaf with its dotted path set, in registration order."""
    out = []
    for name, child in module.__dict__["_children"].items():
        path = f"{prefix}{name}"
        if isinstance(child, Leaf):
            object.__setattr__(child, "path", path)
            out.append(child)
        else:
            out += leaves(child, path + ".")
    return out


def expected_tree(expr, inputs: list, module_tree=None) -> Any:
    """The structure a forward expression (ops/emission.py) builds from input structures."""
    def spliced(items):
        out = []
        for item in items:
            if isinstance(item, Inputs):
                out += inputs
            else:
                out.append(expected_tree(item, inputs, module_tree))
        return out

    if isinstance(expr, Input):
        return inputs[expr.index]
    if isinstance(expr, (OwnModule, Root)):
        return module_tree
    if isinstance(expr, Call):
        if isinstance(expr.fn, OwnModule):
            return module_tree
        return (expr.fn, spliced(expr.args))
    if isinstance(expr, ListOf):
        return ("list", spliced(expr.items))
    if isinstance(expr, BinOp):
        return _flat(expr.symbol, spliced(expr.operands)) if expr.symbol != "/" else ("/", spliced(expr.operands))
    return ("lit", literal(expr))


def resolved(tree: Any, shape_of: Callable[[Any], Any]) -> Any:
    """`tree` with each part of a chunk or split written as the slice the graph holds
    (`torch.narrow(x, dim, start, length)`); `shape_of` gives a structure's shape (None: unknown).
    A part torch would not make raises ValueError."""
    if not isinstance(tree, tuple) or not tree:
        return tree
    if tree[0] in ("chunk", "split") and len(tree) == 5:
        kind, source, how, dim, index = tree
        source = resolved(source, shape_of)
        shape = shape_of(source)
        if shape is None or not isinstance(dim, int) or not (1 <= dim <= len(shape) or -len(shape) <= dim <= -1):
            raise ValueError(f"a {kind} of a value of unknown shape, or along the batch")
        axis = dim - 1 if dim > 0 else len(shape) + dim
        lengths = part_sizes(shape[axis], how, None) if kind == "chunk" else part_sizes(shape[axis], None, list(how))
        if isinstance(lengths, str) or index >= len(lengths):
            raise ValueError(f"a {kind} part torch does not make: {lengths}")
        return ("torch.narrow", [source, ("lit", literal(axis + 1)), ("lit", literal(sum(lengths[:index]))),
                                 ("lit", literal(lengths[index]))])
    if len(tree) == 2 and isinstance(tree[1], list):
        return (tree[0], [resolved(item, shape_of) for item in tree[1]])
    return tree


def normalized_args(call: ModuleCall, args: tuple, kwargs: dict) -> dict[str, str]:
    """A module's arguments by torch name as literal text, defaults left out (both sides alike)."""
    named = {}
    positional = [a for a in call.args if a.positional]
    for arg, value in zip(positional, args, strict=False):
        named[arg.name] = value
    named.update(kwargs)
    defaults = {a.name: a.default for a in call.args}
    out = {}
    for name, value in named.items():
        text = literal(_tuples(value))
        if defaults.get(name, ...) is not ... and text == literal(defaults[name]):
            continue
        out[name] = text
    return out


def _tuples(value: Any) -> Any:
    """Lists as tuples: torch's modules take a sequence argument as either (`kernel_size=[1, 7]`
    makes the (1, 7) of the graph: a block param given as the blueprint's list builds what it says)."""
    if type(value) in (list, tuple):
        return tuple(_tuples(v) for v in value)
    return value


def graph_args(call: ModuleCall) -> dict[str, str]:
    return normalized_args(call, tuple(a.value for a in call.args if a.positional),
                           {a.name: a.value for a in call.args if not a.positional})


__all__ = ["FakeTensor", "FakeModule", "Leaf", "namespace", "leaves", "expected_tree", "resolved", "normalized_args",
           "graph_args", "Arg"]
