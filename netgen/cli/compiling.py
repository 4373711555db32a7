"""What the commands share that needs no typer: compiling from the command line's strings and
printing diagnostics, so that the fast path (fast.py) runs them without importing typer."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING

from ..errors import Diagnostic, NetgenError, Span
from ..shapes import format_shape

if TYPE_CHECKING:
    from ..graph import Graph

EXIT_USER_ERROR = 2
INPUT_SPAN = Span("<--input>", 1, 1)


def parse_input(text: str | None) -> list[int] | None:
    if not text:
        return None
    if not re.fullmatch(r"\d{1,10}(x\d{1,10})*", text.strip()):
        raise NetgenError([Diagnostic("NG002", f"--input expects sizes like 3x224x224; received {text[:80]!r}",
                                      INPUT_SPAN)])
    sizes = [int(v) for v in text.strip().split("x")]
    if any(not 0 < v < 2**31 for v in sizes):
        raise NetgenError([Diagnostic("NG002", f"--input sizes must be from 1 to 2**31-1; received {text!r}",
                                      INPUT_SPAN)])
    return sizes


def compile_from_cli(blueprint: str, sets: list[str] | None, input_text: str | None,
                     allow_paths: list[str] | None = None, allow_plugins: bool = False) -> Graph:
    from ..api import compile_blueprint  # the compiler, only once a command compiles (not for --help)
    from ..blueprint import parse_override

    overrides = dict(parse_override(s) for s in (sets or []))
    return compile_blueprint(blueprint, parse_input(input_text), allow_paths=allow_paths or (),
                             allow_plugins=allow_plugins, **overrides)


def print_diagnostics(exc: NetgenError, fmt: str = "text") -> None:
    """Every diagnostic on stderr: as JSON, or as text with the source lines."""
    if fmt == "json":
        print(exc.to_json(), file=sys.stderr)
    else:
        print(exc.format(snippet=True), file=sys.stderr)


def check_line(graph: Graph) -> str:
    """`netgen check`'s one line on success."""
    ops = sum(1 for _ in graph.ops())
    params = graph.parameter_count()
    ins = ", ".join(format_shape(graph.shape_of(i)) for i in graph.inputs)
    outs = ", ".join(format_shape(graph.shape_of(o)) for o in graph.outputs)
    return f"ok: {graph.name}: {ops} ops, {ins} -> {outs}, {params:,} parameters"
