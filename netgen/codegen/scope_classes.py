"""Scope classes, drafted: which scopes of the annotated graph become an `nn.Sequential`, a
block's own class, or a generated class, and each generated class's constructor and forward
lines (names follow liveness), before classes are named and printed (python.py).

The module tree follows the graph's scopes, so state_dict keys are the scope paths."""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from ..graph import Graph
from ..ops.emission import Arg, ModuleCall
from ..passes.inference import channels_last_lines
from ..shapes import format_shape
from .blocks import BlockWriter
from .naming import INDENT, Namespace, _generic, _self_attr, camel
from .printer import Group, calls_torch, expression_group, expression_text
from .templates import (
    ClassDraft,
    ClassTemplate,
    ContainerTemplate,
    ModuleCode,
    NamedSequentialTemplate,
    SequentialTemplate,
    Template,
    _lift,
)


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


class ScopeClassDrafter:
    """The structure half of the emitter: drafts a class (or a Sequential) for each scope and
    collects identical drafts under one signature; PythonEmitter prints them."""

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
            named = self.g.scopes[member.scope].meta.get("block_inputs") if member.scope in self.g.scopes else None
            if named:  # a block of several inputs takes them in its `inputs` order (forward(self, low, high))
                member.inputs = list(named)
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
        named = self.g.scopes[path].meta.get("block_inputs") if path in self.g.scopes else None
        return (list(named) if named else ins), outs

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
            channels = [f"{name}_channels" for name in cls.block.inputs] or ["in_channels"]
            args = (*(Arg(name, v, True) for name, v in zip(channels, positional, strict=True)),
                    *(Arg(k, v) for k, v in kwargs.items()))
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
        # the network's outputs by the value each returns, named as the blueprint names them
        outputs_of = {self.g.inputs_of(o)[0]: self.g[o].path[-1] for o in self.g.outputs} if not path else {}
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
            # the guard stands at the outermost call site: a class whose whole scope runs in
            # training only (GoogLeNet's aux1) computes unguarded, and its caller guards the call
            training = not whole_training and all(self.g[n].training_only for n in member.node_set)
            for value in member.outputs:  # never empty: every op's output is used outside its member
                if value in taps:  # a numbered child's output read here: named after it (`backbone_4`)
                    name = ns.create(f"{member.name}_{taps[value]}")
                elif consumers.get(value, 0) > 1:
                    name = ns.create(local if not local.isdigit() else "out")
                elif training:
                    # a value of training mode only (an auxiliary head's logits) never takes the
                    # main chain's `x`: it is named after the network output it is (`aux_logits`)
                    name = ns.create(outputs_of.get(value) or (local if not local.isdigit() else "out"))
                else:
                    generic = [n for n in dying + (["x"] if "x" in free else []) + free if n in free and _generic(n)]
                    fresh = local if member.scope and not local.isdigit() else "out"
                    name = generic[0] if generic else ns.create(fresh)
                if name in free:
                    free.remove(name)
                var[value] = name
                out_vars.append(name)
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
        # the container is an attribute (`self.classifier`): a numbered scope (`0`, an unnamed
        # item of the network) keeps its class, reached by add_module/getattr
        if not member.name.isidentifier() or keyword.iskeyword(member.name):
            return False
        if len(path) != 1 or scope is None or scope.kind == "block" or scope.meta.get("module_order"):
            return False
        if self.blocks is not None and self.blocks.call(path) is not None:
            return False
        inner = self.members(path)
        ins, outs = self.scope_io(path)
        # only a scope that reads several of the network's values (LR-ASPP's head): one with a
        # single input stays a module of its own, callable and wrappable (FSDP's fully_shard
        # refuses a container that has no forward)
        if len(ins) < 2:
            return False
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
