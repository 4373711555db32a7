"""A class's source from its walks: nn.Module or nn.Sequential, a body chosen by `if:`, the
`def __init__` line, and the finish ruff asks for.
"""

from __future__ import annotations

import ast
import functools
import re
from typing import TYPE_CHECKING

from ..printer import Group, call_lines, expression_piece, identifier, layout, literal, string_literal
from ..translate import Untranslatable, code_of, node_of, substitute
from .values import _UNBUILT, INDENT, LINE, MODULE_ATTRIBUTES, RUNNING

if TYPE_CHECKING:
    from ...blueprint import BlockDef
    from .walk import Walk


class Rendering:
    def render(self, name: str, walk: Walk) -> str:
        block = walk.block
        if self.sequential(walk):
            return self.render_sequential(name, walk)
        if walk.numbered_optional or walk.loops:
            raise Untranslatable("optional or repeated items numbered in a class that is not a chain")
        lines = [f"class {name}(nn.Module):"]
        if block.doc:
            lines += [f'{INDENT}"""{_doc(block.doc)}"""', ""]
        lines += [*init_lines(walk.block, walk.reads_in_shape, list(walk.flags), walk.dropped),
                  f"{INDENT * 2}super().__init__()"]
        lines += [f"{INDENT * 2}{line}" for line in walk.let_lines + walk.guards]
        lines += [line for stmt in walk.init for line in stmt.lines(2)]
        lines += ["", f"{INDENT}def forward(self, {forward_args(walk.block)}):"]
        lines += [f"{INDENT * 2}{line}" for line in walk.fwd]
        lines.append(f"{INDENT * 2}return {walk.out.var}")
        if block.inputs and any(re.search(rf"\b{name}\b", line) for line in lines[1:]
                                for name in ("in_channels", "in_shape")):
            # the class takes each input's channels by its name: one input's cannot be read as the block's
            raise Untranslatable("a block of several inputs that reads `in_channels` or `in_shape`")
        return "\n".join(lines)

    def render_branches(self, name: str, walks: list[Walk], flags: list[str]) -> str:
        """A body chosen by `if:`: both branches in the class; the constructor tests the blueprint's
        expression, and forward tests it again on the names it reads, kept as attributes."""
        branch = walks[0].branch
        if branch is None or any(w.branch is None or w.branch[:2] != branch[:2] for w in walks):
            raise Untranslatable("instances that do not all choose a branch")
        if any(w.loops for w in walks):
            raise Untranslatable("a repeat inside a body chosen by `if`")
        cond, names = branch[0], branch[1]
        parts = {}
        for taken in (True, False):
            group = [w for w in walks if w.branch is not None and w.branch[2] == taken]
            texts = {(tuple(line for stmt in w.init for line in stmt.lines(3)), tuple(w.fwd), w.out.var,
                      tuple(w.let_lines), tuple(w.flags)) for w in group}
            if len(texts) > 1:
                raise Untranslatable("instances that print a body branch otherwise")
            parts[taken] = texts.pop() if texts else None
        present = [p for p in parts.values() if p is not None]
        if len({p[3] for p in present}) != 1 or any(n in w.taken or n in w.fwd_vars or n in MODULE_ATTRIBUTES
                                                     for w in walks for n in names):
            raise Untranslatable("branches that compute their lets otherwise, or a member named like the decision")
        first = walks[0]
        lines = [f"class {name}(nn.Module):"]
        if first.block.doc:
            lines += [f'{INDENT}"""{_doc(first.block.doc)}"""', ""]
        lines += [*init_lines(first.block, first.reads_in_shape, flags, first.dropped),
                  f"{INDENT * 2}super().__init__()"]
        if len({tuple(w.guards) for w in walks}) != 1:
            raise Untranslatable("branches that check their op choices otherwise")
        lines += [f"{INDENT * 2}{line}" for line in [*present[0][3], *first.guards]]
        if parts[True] is None or parts[False] is None:
            # every instance takes one branch: the class holds that one, and refuses the other
            # (it was never built, so nothing checked it)
            taken = parts[True] is not None
            test = cond if not taken else f"not ({cond})"
            part = present[0]
            lines.append(f"{INDENT * 2}if {test}:")
            lines.append(f"{INDENT * 3}raise ValueError({string_literal(_UNBUILT)})")
            lines += [line[len(INDENT):] for line in part[0]]
            lines += ["", f"{INDENT}def forward(self, x):"]
            lines += [f"{INDENT * 2}{line}" for line in part[1]] + [f"{INDENT * 2}return {part[2]}"]
            return "\n".join(lines)
        lines += [f"{INDENT * 2}self.{n} = {n}" for n in names]
        # what both branches build alike, at their end, is built once after the `if`
        inits = {t: next(w for w in walks if w.branch is not None and w.branch[2] == t).init for t in (True, False)}
        same = 0
        while same < min(len(inits[True]), len(inits[False])) and \
                inits[True][-1 - same].lines(0) == inits[False][-1 - same].lines(0):
            same += 1
        while same and inits[True][-same].depth:
            same -= 1
        # and what they build alike at their start, once before it (the pre-activation units' BN-ReLU)
        lead, shortest = 0, min(len(inits[True]), len(inits[False])) - same
        while lead < shortest and all(_alone(inits[t], lead) for t in (True, False)) and \
                inits[True][lead].lines(0) == inits[False][lead].lines(0):
            lead += 1
        lines += [line for stmt in inits[True][:lead] for line in stmt.lines(2)]
        kept = {t: [line for stmt in inits[t][lead:len(inits[t]) - same] for line in stmt.lines(3)]
                for t in (True, False)}
        if kept[True] or kept[False]:
            lines.append(f"{INDENT * 2}if {cond if kept[True] else f'not ({cond})'}:")
            lines += kept[True] or kept[False]
            if kept[True] and kept[False]:
                lines += [f"{INDENT * 2}else:", *kept[False]]
        lines += [line for stmt in inits[True][len(inits[True]) - same:] for line in stmt.lines(2)]
        forward_cond = code_of(substitute(ast.parse(cond, mode="eval").body,
                                          {n: ast.Attribute(ast.Name("self", ast.Load()), n, ast.Load())
                                           for n in names}))
        lines += ["", f"{INDENT}def forward(self, x):", f"{INDENT * 2}if {forward_cond}:"]
        both = {t: p for t, p in parts.items() if p is not None}  # each branch is taken by some instance here
        fwd = {t: [*both[t][1], f"return {both[t][2]}"] for t in (True, False)}
        tail = 0
        while tail < min(len(fwd[True]), len(fwd[False])) - 1 and fwd[True][-1 - tail] == fwd[False][-1 - tail]:
            tail += 1
        if tail and not fwd[True][-tail].startswith(INDENT):  # a whole statement, not an `if`'s body
            lines += [f"{INDENT * 3}{line}" for line in fwd[True][:-tail]]
            lines += [f"{INDENT * 2}else:"] + [f"{INDENT * 3}{line}" for line in fwd[False][:-tail]]
            lines += [f"{INDENT * 2}{line}" for line in fwd[True][-tail:]]
        else:
            lines += [f"{INDENT * 3}{line}" for line in fwd[True]] + [f"{INDENT * 2}{line}" for line in fwd[False]]
        return "\n".join(lines)

    @staticmethod
    def sequential(walk: Walk) -> bool:
        """A block that is a numbered chain of modules and nothing else: an nn.Sequential subclass,
        as torchvision writes Conv2dNormActivation (its state_dict keys are 0, 1, 2...)."""
        names = [m[0] for m in walk.members if m[3]]
        chain = []
        for name, _, condition, _ in walk.members:
            line = f"x = {walk.attr(name)}(x)"
            chain += [f"if {walk.attr(name)} is not None:", INDENT + line] if condition else [line]
        return (bool(walk.members) and names == [str(i) for i in range(len(names))] and not walk.not_chain
                and walk.fwd == chain and walk.out.var == "x" and not walk.flags)

    def render_sequential(self, name: str, walk: Walk) -> str:
        lines = [f"class {name}(nn.Sequential):"]
        if walk.block.doc:
            lines += [f'{INDENT}"""{_doc(walk.block.doc)}"""', ""]
        lines += init_lines(walk.block, walk.reads_in_shape, list(walk.flags), walk.dropped)
        lines += [f"{INDENT * 2}{line}" for line in walk.let_lines + walk.guards]
        if walk.hoisted is not None:  # the first loop's input channels, which the items before it read
            lines += [INDENT * 2 + line for line in layout(expression_piece(walk.hoisted, f"{RUNNING} = "), LINE - 8)]
        if not any(m[2] for m in walk.members) and not walk.loops:
            lines.append(f"{INDENT * 2}super().__init__(")
            for _, piece, _, _ in walk.members:
                lines += [INDENT * 3 + line for line in layout(piece, LINE - 12, ",")]
            lines.append(f"{INDENT * 2})")
            return "\n".join(lines)
        # optional members: a list filled as the blueprint decides, numbered by nn.Sequential
        local = "layers" if "layers" not in walk.params and "layers" not in walk.let_nodes else "layers_"
        # and repeats: one loop appending each (repeat.py)
        loops = {loop.start: loop for loop in walk.loops}
        fixed = []
        for index, member in enumerate(walk.members):
            if member[2] or index in loops:
                break
            fixed.append(member)
        lines.append(f"{INDENT * 2}{local} = [" + ("" if fixed else "]"))
        for _, piece, _, _ in fixed:
            lines += [INDENT * 3 + line for line in layout(piece, LINE - 12, ",")]
        if fixed:
            lines.append(f"{INDENT * 2}]")
        index = len(fixed)
        while index < len(walk.members):
            _, piece, condition, _ = walk.members[index]
            loop = loops.get(index)
            if loop is not None:
                lines += [f"{INDENT * 2}{line}" for line in [*loop.before, loop.header]]
                condition = None
            if loop is not None and loop.body is not None:  # an if/else in each iteration (repeat.py)
                for depth, entry in loop.body:
                    indent = INDENT * (3 + depth)
                    lines += [indent + entry] if isinstance(entry, str) else [
                        indent + line for line in layout(Group(f"{local}.append", [entry]), LINE - len(indent))]
                index = loop.end
                continue
            depth = 3 if condition or loop else 2
            if loop is not None:
                lines += [INDENT * 3 + line for line in loop.named]
            if condition:
                lines.append(f"{INDENT * 2}if {condition}:")
            lines += [INDENT * depth + line for line in layout(Group(f"{local}.append", [piece]), LINE - 4 * depth)]
            if loop is not None and loop.update:
                lines.append(f"{INDENT * 3}{loop.update}")
            index = loop.end if loop is not None else index + 1
        lines.append(f"{INDENT * 2}super().__init__(*{local})")
        return "\n".join(lines)



def _alone(stmts: list, at: int) -> bool:
    """Whether the statement at `at` stands alone: no `if` of its own, nothing nested under it."""
    stmt = stmts[at]
    return not stmt.depth and not stmt.head.rstrip().endswith(":") and (
        at + 1 >= len(stmts) or not stmts[at + 1].depth)


def forward_args(block: BlockDef) -> str:
    """forward's arguments: `x`, or a block's named inputs (`low, high`)."""
    return ", ".join(block.inputs) or "x"


def init_lines(block: BlockDef, reads_in_shape: bool, flags: list[str], dropped: set[str] | None = None) -> list[str]:
    """`def __init__(self, in_channels, ...):`, printed from its parameters (never split back out of
    text: a default may hold a comma) and broken as ruff breaks a long one, less the `dropped`
    ones that nothing reads. A list or mapping default is `None` in the signature and set first
    thing (`if setting is None: setting = []`): a mutable default would be shared by every
    instance (ruff's B006)."""
    dropped = dropped or set()
    required = [identifier(p) for p in block.required if p not in dropped]
    optional = [(identifier(p), v) for p, v in block.params.items() if p not in block.required and p not in dropped]
    defaults = [f"{p}={literal(None if isinstance(v, (list, dict)) else v)}" for p, v in optional]
    shape = ["in_shape"] if reads_in_shape else []  # the input's C, H, W, when the block reads them
    channels = [f"{name}_channels" for name in block.inputs] or ["in_channels"]
    params = ["self", *channels, *shape, *required, *defaults, *[f"{f}=False" for f in flags]]
    lines = [INDENT + line for line in call_lines("def __init__", params, ":", LINE - len(INDENT))]
    for p, v in optional:
        if isinstance(v, (list, dict)):
            lines += [f"{INDENT * 2}if {p} is None:", *[INDENT * 3 + line for line in
                                                          layout(expression_piece(node_of(v), f"{p} = "), LINE - 12)]]
    return lines


def _finished(text: str, lets: list[str]) -> str:
    """The class as ruff wants it: a `let` that nothing reads left out (F841; Swin's `dim` where
    every op reads `in_channels`)."""
    lines = text.split("\n")
    for name in reversed(lets):
        head = f"{INDENT * 2}{name} = "
        pattern = re.compile(rf"\b{re.escape(name)}\b")
        at = [i for i, line in enumerate(lines) if line.startswith(head)]
        if not at:
            continue
        end = at[0] + 1  # a let broken across lines ends at its closing bracket, as deep as it
        if lines[at[0]][-1:] in ("(", "[", "{"):
            while not (lines[end].startswith(INDENT * 2 + ")") or lines[end].startswith(INDENT * 2 + "]")
                       or lines[end].startswith(INDENT * 2 + "}")):
                end += 1
            end += 1
        if not any(pattern.search(line) for i, line in enumerate(lines) if not at[0] <= i < end):
            del lines[at[0]:end]
    return "\n".join(lines)


@functools.lru_cache(maxsize=256)  # each walk of a block renders the block's one docstring
def _doc(text: str) -> str:
    from ..python import _doc as doc

    return doc(text, INDENT)
