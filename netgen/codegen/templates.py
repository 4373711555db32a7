"""Constructor templates: a scope's constructor with its numbers lifted out into slots, so that
scopes whose code differs only in number literals share one class (the literals that differ
become the class's arguments), and the draft of a class before it is named and printed."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ops.emission import Arg, ModuleCall


@dataclass(frozen=True)
class Slot:
    """A number lifted out of a constructor call, to be filled by a literal or a class argument."""


SLOT = Slot()


@dataclass(frozen=True)
class ListTemplate:
    """A list inside a template (lists are not hashable; templates key the class table)."""

    items: tuple


@dataclass(frozen=True)
class SequentialTemplate:
    """`nn.Sequential(...)` of member templates."""

    items: tuple


@dataclass(frozen=True)
class NamedSequentialTemplate:
    """`nn.Sequential()` filled by `add_module(name, ...)` statements: only as a member of a class."""

    items: tuple  # (name, template)


@dataclass(frozen=True)
class ClassTemplate:
    """An instance of a generated class, keyed by the class's signature."""

    signature: tuple


@dataclass(frozen=True)
class ContainerTemplate:
    """`nn.ModuleDict()` whose members the parent builds and wires itself (`self.classifier.cbr`)."""


Template = ModuleCall | SequentialTemplate | NamedSequentialTemplate | ClassTemplate | ContainerTemplate


@dataclass
class ModuleCode:
    """How one scope is constructed: a template (a `ModuleCall` whose numbers are `SLOT`s, a
    `SequentialTemplate` or a `ClassTemplate`) and the numbers its slots take, in order."""

    template: Template
    values: list[int | float]
    class_key: tuple | None = None


@dataclass
class ClassDraft:
    base_name: str
    doc: str
    init: list[tuple[str, Template]]  # (attribute, constructor template)
    init_values: list[int | float]
    forward: list[tuple[str, str, bool]]  # (code, comment, training only)
    args: list[str]
    returns: list[tuple[str, bool]]  # (variable, training only)
    return_names: list[str] = field(default_factory=list)  # the network's output fields (top class only)
    tensors: frozenset[str] = frozenset()  # attributes that hold an nn.Parameter, not a module
    init_tail: tuple[str, ...] = ()  # statements ending the constructor (the top class only)


def _typed(column: tuple) -> tuple:
    """A column of lifted values keyed with their types: ints 1, 2 and floats 1.0, 2.0 stay apart."""
    return tuple((type(v).__name__, v) for v in column)


def _lift(call: ModuleCall) -> tuple[ModuleCall, list[int | float]]:
    """`nn.Conv2d(64, 128, kernel_size=3)` -> the call with its numbers replaced by slots, and
    [64, 128, 3]; floats too (`DropPath(p=0.025)`), so that blocks differing only in a rate share
    a class. Bools, strings and None stay in the template."""
    values: list[int | float] = []

    def lift(value):
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)):
            values.append(value)
            return SLOT
        if isinstance(value, tuple):
            return tuple(lift(v) for v in value)
        if isinstance(value, list):
            return ListTemplate(tuple(lift(v) for v in value))
        raise TypeError(f"{call.target}: cannot emit {type(value).__name__} {value!r}")

    args = tuple(Arg(a.name, lift(a.value), a.positional, a.default) for a in call.args)
    return ModuleCall(call.target, args), values


def _slot_names(name: str, value) -> list[str]:
    """Names for the numbers inside one argument: `stride`; a pair's `kernel_size_h`, `kernel_size_w`."""
    if value is SLOT:
        return [name]
    items = value.items if isinstance(value, ListTemplate) else value if isinstance(value, tuple) else ()
    names = []
    for index, item in enumerate(items):
        side = "hw"[index] if len(items) == 2 and isinstance(value, tuple) else str(index)
        names += _slot_names(f"{name}_{side}", item)
    return names
