"""PyTorch code generation: the annotated graph becomes one readable, standalone `.py` file.

The module tree follows the graph's scopes, so state_dict keys are the scope paths. A scope
whose members form a plain chain of numbered modules becomes an `nn.Sequential`; any other
scope becomes a class with an `__init__` that creates its submodules and a `forward` that
wires them (torch.fx's habit: one emitter per node, a line list, names from one namespace).
Scopes whose generated code is identical up to number literals share one class; the
literals that differ become constructor arguments. Output is deterministic: topological
order with the graph's insertion order as the tie-break.
"""

from __future__ import annotations

import keyword
import re
import textwrap
from dataclasses import dataclass, field

from ..graph import Graph
from ..ops.emission import Arg, ModuleCall
from ..passes.inference import CONVERTER, TABLES, channels_last_lines, converter_source
from ..shapes import format_shape
from ..values import unique_name
from .blocks import BlockWriter
from .literals import docstring_text
from .printer import (
    Group,
    arg_texts,
    call_lines,
    calls_torch,
    dotted,
    expression_group,
    expression_text,
    layout,
    literal,
)

INDENT = "    "
DICT_OUTPUTS = "dict"  # the top class returns a dict (`outputs:` as a mapping), not a NamedTuple
LINE = 120
_RESERVED = set(keyword.kwlist) | {"self", "torch", "nn", "super", "x", "print", "input", "len", "range", "F"}


def camel(name: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", name)
    text = "".join(p[:1].upper() + p[1:] for p in parts if p)
    if not text or text[0].isdigit():
        text = "Net" + text
    return text


class Namespace:
    """One name authority per function: valid identifiers, no keywords, `_1`-style dedup."""

    def __init__(self, reserved=()):
        self.used = set(reserved)

    def create(self, candidate: str) -> str:
        base = re.sub(r"\W", "_", candidate) or "v"
        if base[0].isdigit():
            base = "x_" + base
        if base in _RESERVED and base not in ("x",):
            base = base + "_"
        name = unique_name(base, self.used)
        self.used.add(name)
        return name


@dataclass
class Member:
    """A direct member of a scope: one op node, or one child scope seen as a whole."""

    name: str  # local name (attribute / Sequential key)
    node: str | None = None  # op node id, for an op
    scope: tuple[str, ...] = ()  # path, for a child scope (an op's is empty)
    inputs: list[str] = field(default_factory=list)  # value (node ids) consumed, in order
    outputs: list[str] = field(default_factory=list)  # values produced and used elsewhere
    first: int = 0
    node_set: set[str] = field(default_factory=set)


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


class PythonEmitter:
    def __init__(self, graph: Graph, source_name: str = ""):
        self.g = graph.written()  # a dense block's concats list every part, as torchvision's code does
        self.source_name = source_name
        self.classes: dict[tuple, dict] = {}  # signature -> {"name", "instances": [values...], "draft"}
        self.class_order: list[tuple] = []
        self.class_names: set[str] = set()
        self.uses_torch = False
        self.order = {n: d.order for n, d in graph.nodes.items()}
        self.topo_index = {n: i for i, n in enumerate(graph.topological())}
        self.blocks: BlockWriter | None = None
        self.groups: dict[str, tuple] = {}  # forward line -> (its target, its expression as a Group)

    # -- structure -----------------------------------------------------------------------
    def members(self, path: tuple[str, ...]) -> list[Member]:
        n = len(path)
        by_name: dict[str, Member] = {}
        for node in self.g.nodes_under(path):
            local = self.g[node].path[n]
            if local not in by_name:
                is_scope = len(self.g[node].path) > n + 1
                by_name[local] = Member(local, None if is_scope else node, path + (local,) if is_scope else (),
                                      first=self.topo_index[node])
            by_name[local].node_set.add(node)
        for member in by_name.values():
            nodes = member.node_set
            for node in sorted(nodes, key=self.topo_index.__getitem__):
                for src in self.g.inputs_of(node):
                    if src not in nodes and src not in member.inputs:
                        member.inputs.append(src)
                for dst in self.g.users_of(node):
                    if dst not in nodes and node not in member.outputs:
                        member.outputs.append(node)
        return sorted(by_name.values(), key=lambda u: u.first)

    def scope_io(self, path: tuple[str, ...]) -> tuple[list[str], list[str]]:
        nodes = set(self.g.nodes_under(path))
        ins, outs = [], []
        for node in sorted(nodes, key=self.topo_index.__getitem__):
            for src in self.g.inputs_of(node):
                if src not in nodes and src not in ins:
                    ins.append(src)
            if any(dst not in nodes for dst in self.g.users_of(node)) and node not in outs:
                outs.append(node)
        return ins, outs

    def is_chain(self, members: list[Member], ins: list[str], outs: list[str], numbered: bool = True) -> bool:
        if len(ins) != 1 or len(outs) != 1 or not members:
            return False
        previous = ins[0]
        for index, member in enumerate(members):
            if (numbered and member.name != str(index)) or member.inputs != [previous] or len(member.outputs) != 1:
                return False
            if member.node is not None and (self.member_expr(member.node) is None
                                            or self.g.op_node(member.node).op.is_tensor):
                return False  # a functional op or a bare nn.Parameter cannot be a Sequential member
            value = member.outputs[0]
            if index < len(members) - 1 and not set(self.g.users_of(value)) <= members[index + 1].node_set:
                return False
            previous = value
        return previous == outs[0]

    def module_expr(self, node: str) -> ModuleCall | None:
        data = self.g.op_node(node)
        return data.op.emit_module(data.in_shapes, data.shape)

    def member_expr(self, node: str) -> ModuleCall | None:
        """The module an op is as an nn.Sequential's item: its own, or a functional op's module form."""
        data = self.g.op_node(node)
        return self.module_expr(node) or data.op.emit_member(data.in_shapes, data.shape)

    # -- construction expressions --------------------------------------------------------
    def construct(self, path: tuple[str, ...]) -> ModuleCode:
        """The expression that builds the module for a scope (recursively)."""
        block_call = self.blocks.call(path) if self.blocks is not None else None
        if block_call is not None:  # `Bottleneck(256, planes=128, stride=2)`: a class of the block's own
            cls, positional, kwargs = block_call
            args = (Arg("in_channels", positional[0], True), *(Arg(k, v) for k, v in kwargs.items()))
            template, values = _lift(ModuleCall(cls.name, args))
            return ModuleCode(template, values)
        members = self.members(path)
        ins, outs = self.scope_io(path)
        if path and self.is_chain(members, ins, outs):
            parts, values = [], []
            for member in members:
                code = self.member_module(member)
                parts.append(code.template)
                values += code.values
            if not any(isinstance(p, NamedSequentialTemplate) for p in parts):
                return ModuleCode(SequentialTemplate(tuple(parts)), values)
        scope = self.g.scopes.get(path)
        if path and (scope is None or scope.kind != "block") and self.is_chain(members, ins, outs, numbered=False):
            # a named sequence outside blocks (DenseNet's `features`): an nn.Sequential filled by
            # add_module where its parent assigns it, as torchvision writes it; no class of its own
            named: list[tuple[str, Template]] = []
            values = []
            for member in members:  # nested ones too (RegNet's trunk_output.block1.block1-0)
                code = self.member_module(member)
                named.append((member.name, code.template))
                values += code.values
            return ModuleCode(NamedSequentialTemplate(tuple(named)), values)
        draft = self.draft_class(path, members, ins, outs)
        signature = (draft.base_name, tuple(draft.init), tuple((c, t) for c, _, t in draft.forward), tuple(draft.args),
                     tuple(draft.returns))
        entry = self.classes.get(signature)
        if entry is None:
            entry = {"draft": draft, "instances": [], "comments": [], "name": None}
            self.classes[signature] = entry
            self.class_order.append(signature)
        entry["instances"].append(draft.init_values)
        entry["comments"].append(tuple(c for _, c, _ in draft.forward))
        return ModuleCode(ClassTemplate(signature), draft.init_values, signature)

    def member_module(self, member: Member) -> ModuleCode:
        if member.node is not None:
            call = self.member_expr(member.node)
            if call is None:  # the callers leave functional ops out of constructors
                raise ValueError(f"op {member.node!r} has no module to construct")
            template, values = _lift(call)
            return ModuleCode(template, values)
        return self.construct(member.scope)

    def draft_class(self, path, members: list[Member], ins: list[str], outs: list[str]) -> ClassDraft:
        scope = self.g.scopes.get(path)
        if not path:
            base = camel(self.g.name)
        elif scope is not None and scope.block:
            base = camel(scope.block)
        else:
            local = path[-1]
            base = camel(local if not local.isdigit() else (scope.kind if scope else "Block"))
        init: list[tuple[str, Template]] = []
        values: list[int | float] = []
        containers: set[str] = set()
        if not path:
            members, containers = self.opened(members)
        tensors = {u.name for u in members if u.node is not None and self.g.op_node(u.node).op.is_tensor}
        attrs = Namespace()
        attr_of: dict[str, str] = {}
        built: list[tuple[str, Template, list]] = []
        for member in members:
            if member.name in containers:
                built.append((member.name, ContainerTemplate(), []))
                continue
            if member.node is not None and self.module_expr(member.node) is None:
                continue
            code = self.member_module(member)
            attr = member.name
            attr_of[member.name] = attr
            attrs.used.add(attr)
            built.append((attr, code.template, code.values))
        # a block's `module_order` registers the members it lists first, in its order (the
        # state_dict's key order); forward still runs them in the graph's order
        order = (scope.meta.get("module_order") or []) if scope is not None else []
        rank = {name: i for i, name in enumerate(order)}
        for attr, template, lifted in sorted(built, key=lambda b: (0, rank[b[0]]) if b[0] in rank else (1, 0)):
            init.append((attr, template))
            values += lifted
        # forward
        whole_training = bool(path) and all(self.g[n].training_only for u in members for n in u.node_set)
        ns = Namespace()
        var: dict[str, str] = {}
        consumers: dict[str, int] = {}
        for member in members:
            for value in member.inputs:
                consumers[value] = consumers.get(value, 0) + 1
        for value in outs:
            consumers[value] = consumers.get(value, 0) + 1
        remaining = dict(consumers)
        free: list[str] = []  # variables whose value nobody reads any more
        args = []
        for index, value in enumerate(ins):
            name = ns.create("x" if index == 0 else self.g[value].path[-1])
            var[value] = name
            args.append(name)
        lines: list[tuple[str, str, bool]] = []
        init_tail: list[str] = []
        if not path:
            # per-forward-pass decisions for the whole network (Op.emit_root_forward)
            roots = (d.op.emit_root_forward() for _, d in self.g.ops())
            for root_code in dict.fromkeys(expression_text(r, []) for r in roots if r is not None):
                lines.append((root_code, "", False))
            plan = self.g.meta.get("inference")
            if plan is not None:  # the inference build's memory format (netgen/passes/inference.py)
                init_tail, prologue = channels_last_lines(plan, [(var[v], len(self.g.shape_of(v))) for v in ins])
                lines += [(line, "", False) for line in prologue]
        for member in members:
            if member.name in containers:
                continue
            arg_vars = [var[v] for v in member.inputs]
            local = member.name.rsplit(".", 1)[-1]  # a container's member is named by its own name
            if member.node is not None:
                data = self.g.op_node(member.node)
                module = _self_attr(member.name) if member.name in attr_of else None
                # argument order is the node's own input order
                call_args = [var[v] for v in self.g.inputs_of(member.node)]
                forward = data.op.emit_forward(data.in_shapes)
                expr = expression_text(forward, call_args, module)
                group = expression_group(forward, call_args, module)
                if calls_torch(forward):
                    self.uses_torch = True
                shape = format_shape(data.shape)
            else:
                module = _self_attr(member.name)
                expr = f"{module}({', '.join(arg_vars)})"
                group = Group(module, list(arg_vars))
                shape = ", ".join(format_shape(self.g[o].shape) for o in member.outputs)
            # Names follow liveness: a value used more than once stays alive under the name of
            # the module that made it (`inception4a`); a value used once takes a generic
            # variable (`x`, `out`) whose value died, so a chain reads `x = f(x)` and no
            # variable carries the name of a module it did not come from.
            for value in member.inputs:
                remaining[value] -= 1
            dying = [var[v] for v in member.inputs if remaining[v] == 0]
            free.extend(name for name in dying if name not in free)
            out_vars = []
            taps = self.taps(member)
            for value in member.outputs:  # never empty: every op's output is used outside its member
                if value in taps:  # a numbered child's output read here: named after it (`backbone_4`)
                    name = ns.create(f"{member.name}_{taps[value]}")
                elif consumers.get(value, 0) > 1:
                    name = ns.create(local if not local.isdigit() else "out")
                else:
                    generic = [n for n in dying + (["x"] if "x" in free else []) + free if n in free and _generic(n)]
                    fresh = local if member.scope and not local.isdigit() else "out"
                    name = generic[0] if generic else ns.create(fresh)
                if name in free:
                    free.remove(name)
                var[value] = name
                out_vars.append(name)
            # the guard stands at the outermost call site: a class whose whole scope runs in
            # training only (GoogLeNet's aux1) computes unguarded, and its caller guards the call
            training = not whole_training and all(self.g[n].training_only for n in member.node_set)
            if taps:
                # the children run one by one, keeping the outputs read here, as torchvision's
                # IntermediateLayerGetter does for LR-ASPP's backbone
                final, at, layer = out_vars[-1], ns.create("index"), ns.create("layer")
                loop = [f"{final} = {arg_vars[0]}"] if final != arg_vars[0] else []
                loop += [f"for {at}, {layer} in enumerate({module}):", f"{INDENT}{final} = {layer}({final})"]
                for value, child in taps.items():
                    loop += [f"{INDENT}if {at} == {child}:", f"{INDENT * 2}{var[value]} = {final}"]
                lines += [(line, "", training) for line in loop]
                continue
            self.groups[f"{', '.join(out_vars)} = {expr}"] = (", ".join(out_vars), group)
            lines.append((f"{', '.join(out_vars)} = {expr}", shape, training))
        if not path:
            # the network's outputs, in the blueprint's order; training-only ones flagged
            returns = [(var[self.g.inputs_of(o)[0]], self.g[o].training_only) for o in self.g.outputs]
            names = [self.g[o].path[-1] for o in self.g.outputs]
        else:
            returns, names = [(var[v], False) for v in outs], []
        return ClassDraft(base, scope.doc if scope else "", init, values, lines, args, returns, names,
                          frozenset(tensors), tuple(init_tail))

    def opened(self, members: list[Member]) -> tuple[list[Member], set[str]]:
        """The network's named scopes that are neither block calls nor chains (LR-ASPP's head, wired
        by `from:`): an nn.ModuleDict member holds each one's modules (`self.classifier.cbr`, the
        same keys), and the network's forward wires them as the blueprint does, so a scope built
        once gets no class of its own. Returns the members with theirs spliced in, and the
        containers' names."""
        out: list[Member] = []
        containers: set[str] = set()
        for member in members:
            inner = self.members(member.scope) if member.scope and self.containable(member, out) else None
            if inner is None:
                out.append(member)
                continue
            containers.add(member.name)
            out.append(Member(member.name, first=member.first))
            for sub in inner:
                sub.name = f"{member.name}.{sub.name}"
                out.append(sub)
        return out, containers

    def containable(self, member: Member, before: list[Member]) -> bool:
        path = member.scope
        scope = self.g.scopes.get(path)
        if len(path) != 1 or scope is None or scope.kind == "block" or scope.meta.get("module_order"):
            return False
        if self.blocks is not None and self.blocks.call(path) is not None:
            return False
        inner = self.members(path)
        ins, outs = self.scope_io(path)
        if self.is_chain(inner, ins, outs) or self.is_chain(inner, ins, outs, numbered=False) or len(outs) != 1:
            return False
        # its inputs are made before it, so its members may run where it stands
        made = {v for m in before for v in m.outputs} | set(self.g.inputs)
        return all(v in made for v in ins) and all(m.name.isidentifier() or m.name.isdigit() for m in inner)

    def taps(self, member: Member) -> dict[str, str]:
        """A block call whose class is an nn.Sequential and of which the caller also reads numbered
        children's outputs (`from: backbone.4`): those outputs, with the child each comes from
        (the class checked that each is its child's output, blocks/verify.py)."""
        call = self.blocks.call(member.scope) if self.blocks is not None and member.scope else None
        if call is None or not call[0].sequential or len(member.outputs) < 2:
            return {}
        depth = len(member.scope)
        return {value: self.g[value].path[depth] for value in member.outputs[:-1]}

    # -- rendering -------------------------------------------------------------------------
    def render_class(self, signature: tuple) -> str:
        entry = self.classes[signature]
        draft: ClassDraft = entry["draft"]
        instances = entry["instances"]
        # which lifted ints vary between instances, merged when they vary together
        columns = list(zip(*instances, strict=True)) if instances and instances[0] else []
        params: list[str] = []
        column_param: dict[int, str | None] = {}
        seen: dict[tuple, str] = {}
        hints = self.int_hints(draft)
        names = Namespace(reserved={"self"})
        for index, column in enumerate(columns):
            if len(set(column)) == 1:
                column_param[index] = None
            elif _typed(column) in seen:
                column_param[index] = seen[_typed(column)]
            else:
                attr, hint = hints[index]
                # a second `out_channels` is named by where it goes: `branch2_out_channels`
                if hint in names.used and attr.isidentifier() and not hint.startswith(attr):
                    hint = f"{attr}_{hint}"
                name = names.create(hint)
                seen[_typed(column)] = name
                params.append(name)
                column_param[index] = name
        entry["params"] = params
        entry["param_columns"] = {name: idx for idx, name in reversed(list(column_param.items())) if name}
        name = entry["name"]
        lines = [f"class {name}(nn.Module):"]
        if draft.doc:
            lines.append(f'{INDENT}"""{_doc(draft.doc, INDENT)}"""')
            lines.append("")
        lines += [INDENT + line for line in call_lines("def __init__", ["self", *params], ":", LINE - 4)]
        lines.append(f"{INDENT * 2}super().__init__()")
        cursor = 0

        def named_sequential(parent: str, attr: str, template: NamedSequentialTemplate) -> None:
            nonlocal cursor
            target = f"{parent}.{attr}" if attr.isidentifier() else f"getattr({parent}, {literal(attr)})"
            if attr.isidentifier():
                lines.append(f"{INDENT * 2}{target} = nn.Sequential()")
            else:
                lines.append(f"{INDENT * 2}{parent}.add_module({literal(attr)}, nn.Sequential())")
            for name, item in template.items:
                if isinstance(item, NamedSequentialTemplate):
                    named_sequential(target, name, item)
                    continue
                piece, cursor = self.fill(item, cursor, instances[0], column_param)
                piece = Group(f"{target}.add_module", [literal(name), piece])
                lines.extend(INDENT * 2 + line for line in layout(piece, LINE - 8))

        for attr, template in draft.init:
            parent, _, leaf = attr.rpartition(".")
            owner = f"self.{parent}" if parent else "self"
            if isinstance(template, ContainerTemplate):
                lines.append(f"{INDENT * 2}self.{attr} = nn.ModuleDict()")
                continue
            if isinstance(template, NamedSequentialTemplate):
                named_sequential(owner, leaf, template)
                continue
            piece, cursor = self.fill(template, cursor, instances[0], column_param)
            if leaf.isidentifier():
                piece.head = f"{owner}.{leaf} = {piece.head}"
            elif attr in draft.tensors:  # add_module takes modules only
                piece = Group(f"{owner}.register_parameter", [literal(leaf), piece])
            else:
                piece = Group(f"{owner}.add_module", [literal(leaf), piece])
            lines += [INDENT * 2 + line for line in layout(piece, LINE - 8)]
        lines += [INDENT * 2 + line for line in draft.init_tail]
        lines.append("")
        lines.append(f"{INDENT}def forward(self, {', '.join(draft.args)}):")
        comments = entry["comments"]
        same_comments = all(c == comments[0] for c in comments)
        in_training_block = False
        for code, comment, training in draft.forward:
            if training != in_training_block:
                if training:
                    lines.append(f"{INDENT * 2}if self.training:")
                in_training_block = training
            suffix = f"  # {comment}" if same_comments and comment else ""
            pad = INDENT * (3 if training else 2)
            if len(pad + code + suffix) <= LINE:
                lines.append(pad + code + suffix)
            elif code in self.groups:  # too long: the call breaks as ruff breaks it, without the comment
                target, group = self.groups[code]
                group = Group(f"{target} = {group.head}", group.items, group.open, group.close) \
                    if isinstance(group, Group) else f"{target} = {group}"
                lines += [pad + line for line in layout(group, LINE - len(pad))]
            else:
                lines.append(pad + code)
        lines += self.return_lines(draft, entry.get("outputs_class"))
        return "\n".join(lines)

    def return_lines(self, draft: ClassDraft, outputs_class: str | None) -> list[str]:
        """Several outputs come back as a named tuple (torchvision's GoogLeNetOutputs); training-only
        ones only in training mode, and a single eval output bare, as torchvision returns it."""
        if outputs_class is None:
            return [f"{INDENT * 2}return {', '.join(v for v, _ in draft.returns)}"]
        if outputs_class == DICT_OUTPUTS:
            # `outputs:` as a mapping: a dict in the blueprint's key order (torchvision's
            # segmentation models); training-only keys are present in training mode only
            def literal(pairs):
                return "{" + ", ".join(f'"{n}": {v}' for v, n in pairs) + "}"
            pairs = [(v, n) for (v, _), n in zip(draft.returns, draft.return_names, strict=True)]
            always = [(v, n) for (v, training), n in zip(draft.returns, draft.return_names, strict=True)
                      if not training]
            lines = []
            if len(always) != len(pairs):
                lines += [f"{INDENT * 2}if self.training:", f"{INDENT * 3}return {literal(pairs)}"]
            return lines + [f"{INDENT * 2}return {literal(always)}"]
        always = [(v, n) for (v, training), n in zip(draft.returns, draft.return_names, strict=True) if not training]
        lines = []
        if len(always) != len(draft.returns):
            fields = ", ".join(v for v, _ in draft.returns)
            lines += [f"{INDENT * 2}if self.training:", f"{INDENT * 3}return {outputs_class}({fields})"]
        if len(always) == 1:
            return lines + [f"{INDENT * 2}return {always[0][0]}"]
        return lines + [f"{INDENT * 2}return {outputs_class}({', '.join(f'{n}={v}' for v, n in always)})"]

    def outputs_class(self, top_name: str, draft: ClassDraft) -> tuple[str, str]:
        """`class <Model>Outputs(NamedTuple)`: one field per output; training-only ones default to None."""
        name = unique_name(f"{top_name}Outputs", self.class_names)
        self.class_names.add(name)
        training = [t for _, t in draft.returns]
        # a field with a default may not precede one without: then every field gets one
        all_default = any(t and not later for i, t in enumerate(training) for later in training[i + 1:])
        lines = [f"class {name}(NamedTuple):",
                 f'{INDENT}"""The outputs of {top_name}, in the blueprint\'s order."""', ""]
        for field_name, is_training in zip(draft.return_names, training, strict=True):
            optional = is_training or all_default
            lines.append(f"{INDENT}{field_name}: torch.Tensor" + (" | None = None" if optional else ""))
        return name, "\n".join(lines)

    def fill(self, template, cursor: int, first: list[int | float],
             column_param: dict[int, str | None]) -> tuple[Group, int]:
        """Print a template, consuming lifted values left to right: a slot whose column varies
        prints its constructor argument, any other slot the value the instances share."""
        position = cursor

        def take() -> str:
            nonlocal position
            param = column_param.get(position)
            text = param if param else literal(first[position])
            position += 1
            return text

        def slot(value):
            if value is SLOT:
                return take()
            if isinstance(value, ListTemplate):
                return "[" + ", ".join(literal(v, slot) for v in value.items) + "]"
            return None

        def walk(node) -> Group:
            nonlocal position
            if isinstance(node, ModuleCall):
                return Group(dotted(node.target), arg_texts(node.args, slot))
            if isinstance(node, SequentialTemplate):
                return Group("nn.Sequential", [walk(item) for item in node.items], exploded=True)
            child = self.classes[node.signature]
            columns = child["param_columns"]
            texts = []
            for p in child["params"]:
                param = column_param.get(position + columns[p])
                texts.append(param if param else literal(first[position + columns[p]]))
            if len(texts) > 1:
                texts = [f"{p}={t}" for p, t in zip(child["params"], texts, strict=True)]
            position += len(child["instances"][0])
            return Group(child["name"], texts)

        return walk(template), position

    def int_hints(self, draft: ClassDraft) -> list[tuple[str, str]]:
        """A readable name for each lifted number: (the member it goes to, the torch argument it fills)."""
        hints: list[tuple[str, str]] = []

        def walk(attr: str, node) -> None:
            if isinstance(node, ModuleCall):
                for arg in node.args:
                    hints.extend((attr, name) for name in _slot_names(arg.name, arg.value))
            elif isinstance(node, SequentialTemplate):
                for item in node.items:
                    walk(attr, item)
            elif isinstance(node, NamedSequentialTemplate):
                for _, item in node.items:
                    walk(attr, item)
            elif isinstance(node, ContainerTemplate):
                return
            else:
                child = self.classes[node.signature]
                by_column = {i: p for p, i in child["param_columns"].items()}
                hints.extend((attr, by_column.get(i, f"{attr}_{i}")) for i in range(len(child["instances"][0])))

        for attr, template in draft.init:
            walk(attr, template)
        return hints

    # -- top level -----------------------------------------------------------------------------
    def emit(self) -> tuple[str, str]:
        supports = list(dict.fromkeys(s for _, data in self.g.ops() for s in data.op.emit_support()))
        support = list(dict.fromkeys(s.source.strip() for s in supports))
        # generated classes must not shadow the helpers that support code defines
        self.class_names |= {name for s in supports for name in s.defines}
        plan = self.g.meta.get("inference")
        if plan is not None:  # the inference build's converter and its tables (netgen/passes/inference.py)
            self.class_names |= {CONVERTER, *TABLES}
        self.blocks = BlockWriter(self.g)
        block_classes = list(self.blocks.build(self.class_names | {"Module", "Sequential"}).values())
        self.class_names |= {c.name for c in block_classes}
        self.uses_torch |= self.blocks.uses_torch
        support += [t for t in dict.fromkeys(s.source.strip() for s in self.blocks.supports) if t not in support]
        support += self.blocks.helpers()
        top = self.construct(())
        # name classes in order of first use, children before parents (post-order)
        for signature in self.class_order:
            entry = self.classes[signature]
            base = entry["draft"].base_name
            name = unique_name(base, self.class_names | {"Module", "Sequential"}, first=2, sep="")
            entry["name"] = name
            self.class_names.add(name)
        assert top.class_key is not None  # the network itself is always a class, never a Sequential
        top_entry = self.classes[top.class_key]
        top_name = top_entry["name"]
        named_outputs = []
        if self.g.meta.get("outputs_form") == "dict":
            top_entry["outputs_class"] = DICT_OUTPUTS
        elif len(top_entry["draft"].returns) > 1:
            top_entry["outputs_class"], text = self.outputs_class(top_name, top_entry["draft"])
            named_outputs.append(text)
            self.uses_torch = True
        class_texts = [c.text for c in block_classes] + [self.render_class(sig) for sig in self.class_order]
        if support:
            self.uses_torch = True
        class_texts = support + named_outputs + class_texts
        if plan is not None:
            class_texts.append(converter_source(plan, literal).strip())
            self.uses_torch = True
        header = self.header()
        imports = ("from typing import NamedTuple\n\n" if named_outputs else "")
        imports += ("import torch\n" if self.uses_torch else "") + "from torch import nn\n"
        text = header + "\n" + imports + "\n\n" + "\n\n\n".join(class_texts) + "\n"
        return text, top_name

    def header(self) -> str:
        g = self.g
        inputs = ", ".join(format_shape(g[i].shape) for i in g.inputs)
        outputs = ", ".join(format_shape(g[o].shape) for o in g.outputs)
        params = g.parameter_count()
        macs = sum(d.op.macs(d.in_shapes, d.shape) for _, d in g.ops() if not d.training_only)
        extra = sum(d.op.macs(d.in_shapes, d.shape) for _, d in g.ops() if d.training_only)
        cost = f"{params:,} parameters, {macs:,} MACs" + (f" (+{extra:,} in training mode)" if extra else "")
        doc = g.meta.get("doc") or g.name
        return (
            f'"""{_doc(doc)}\n\n'
            f"Generated by netgen from {docstring_text(self.source_name or g.name)}; edit the blueprint, "
            "not this file.\n"
            + textwrap.fill(f"Input {inputs} (batch first), output {outputs}; {cost}.", width=100) + "\n"
            '"""\n'
        )


def _self_attr(name: str) -> str:
    """`self.classifier.cbr` for a member (a container's too); `getattr(self, "0")` where a part is a number."""
    parent, _, leaf = name.rpartition(".")
    owner = f"self.{parent}" if parent else "self"
    return f"{owner}.{leaf}" if leaf.isidentifier() else f'getattr({owner}, "{leaf}")'


def _typed(column: tuple) -> tuple:
    """A column of lifted values keyed with their types: ints 1, 2 and floats 1.0, 2.0 stay apart."""
    return tuple((type(v).__name__, v) for v in column)


def _generic(name: str) -> bool:
    """Variables that name no module (`x`, `out`, `out_2`) may be reused for any value."""
    return name == "x" or re.fullmatch(r"out(_\d+)?", name) is not None


def _indent(text: str, levels: int = 1) -> str:
    return text.replace("\n", "\n" + INDENT * levels)


def _doc(text: str, indent: str = "") -> str:
    """Docstring text wrapped at 100 columns (hand-written width), continuation lines indented."""
    paragraphs = [textwrap.fill(" ".join(p.split()), width=100 - len(indent) - 3, break_long_words=False,
                                break_on_hyphens=False) for p in text.strip().split("\n\n")]
    return _indent_text(docstring_text("\n\n".join(paragraphs)), indent)  # escaped: the text is the user's


def _indent_text(text: str, indent: str) -> str:
    return "\n".join(indent + line if line and i else line for i, line in enumerate(text.split("\n")))


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


def generate_source(graph: Graph, source_name: str = "") -> tuple[str, str]:
    """Return (python source, name of the top-level class)."""
    return PythonEmitter(graph, source_name).emit()
