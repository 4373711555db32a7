"""PyTorch code generation: the annotated graph becomes one readable, standalone `.py` file.

The module tree follows the graph's scopes, so state_dict keys are the scope paths. A scope
whose members form a plain chain of numbered modules becomes an `nn.Sequential`; any other
scope becomes a class with an `__init__` that creates its submodules and a `forward` that
wires them (torch.fx's habit: one emitter per node, a line list, names from one namespace).
Scopes whose generated code is identical up to number literals share one class; the
literals that differ become constructor arguments. Output is deterministic: topological
order with the graph's insertion order as the tie-break.

scope_classes.py drafts the classes (templates.py: their lifted constructors; naming.py: the
names); this module names and prints them and assembles the file.
"""

from __future__ import annotations

import textwrap

from ..graph import Graph
from ..ops.emission import ModuleCall
from ..passes.inference import CONVERTER, TABLES, converter_source
from ..shapes import format_shape
from ..values import unique_name
from .blocks import BlockWriter
from .literals import docstring_text
from .naming import INDENT, LINE, Namespace
from .printer import Group, arg_texts, call_lines, dotted, layout, literal
from .scope_classes import ScopeClassDrafter
from .templates import (
    SLOT,
    ClassDraft,
    ContainerTemplate,
    ListTemplate,
    NamedSequentialTemplate,
    SequentialTemplate,
    _slot_names,
    _typed,
)

DICT_OUTPUTS = "dict"  # the top class returns a dict (`outputs:` as a mapping), not a NamedTuple


class PythonEmitter(ScopeClassDrafter):
    """The printing half: names the drafted classes, prints each with its constructor arguments,
    and assembles the file (header, imports, support code, block classes, scope classes)."""

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

        def named_sequential(parent: str, attr: str, template: NamedSequentialTemplate,
                             position: int | None = None) -> None:
            # a child of an nn.Sequential that is no identifier (MaxViT's `blocks.0`) is read by its
            # position, as nn.Sequential indexes (its children are added in order): `self.blocks[0]`
            nonlocal cursor
            target = f"{parent}.{attr}" if attr.isidentifier() else (
                f"{parent}[{position}]" if position is not None else f"getattr({parent}, {literal(attr)})")
            if attr.isidentifier():
                lines.append(f"{INDENT * 2}{target} = nn.Sequential()")
            else:
                lines.append(f"{INDENT * 2}{parent}.add_module({literal(attr)}, nn.Sequential())")
            for position, (name, item) in enumerate(template.items):
                if isinstance(item, NamedSequentialTemplate):
                    named_sequential(target, name, item, position)
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


def _indent(text: str, levels: int = 1) -> str:
    return text.replace("\n", "\n" + INDENT * levels)


def _doc(text: str, indent: str = "") -> str:
    """Docstring text wrapped at 100 columns (hand-written width), continuation lines indented."""
    paragraphs = [textwrap.fill(" ".join(p.split()), width=100 - len(indent) - 3, break_long_words=False,
                                break_on_hyphens=False) for p in text.strip().split("\n\n")]
    return _indent_text(docstring_text("\n\n".join(paragraphs)), indent)  # escaped: the text is the user's


def _indent_text(text: str, indent: str) -> str:
    return "\n".join(indent + line if line and i else line for i, line in enumerate(text.split("\n")))


def generate_source(graph: Graph, source_name: str = "") -> tuple[str, str]:
    """Return (python source, name of the top-level class)."""
    return PythonEmitter(graph, source_name).emit()
