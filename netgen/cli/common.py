"""What every command shares: blueprint options, error printing, atomic file writes."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import typer

from ..api import compile_blueprint
from ..blueprint import parse_override
from ..errors import Diagnostic, NetgenError
from ..graph import Graph

EXIT_USER_ERROR = 2

SetOption = typer.Option(None, "--set", "-s", metavar="KEY=VALUE",
                         help="Override a blueprint param (repeatable); the value is read as YAML.")
InputOption = typer.Option(None, "--input", "-i", metavar="CxHxW", help="Override the input shape, e.g. 3x32x32.")
FormatOption = typer.Option("text", "--format", help="Error format: text or json.")


def parse_input(text: str | None) -> list[int] | None:
    if not text:
        return None
    if not re.fullmatch(r"\d+(x\d+)*", text.strip()):
        raise NetgenError([Diagnostic("NG002", f"--input expects sizes like 3x224x224; received {text!r}")])
    sizes = [int(v) for v in text.strip().split("x")]
    if any(v <= 0 for v in sizes):
        raise NetgenError([Diagnostic("NG002", f"--input sizes must be positive; received {text!r}")])
    return sizes


def compile_from_cli(blueprint: str, sets: list[str] | None, input_text: str | None) -> Graph:
    overrides = dict(parse_override(s) for s in (sets or []))
    return compile_blueprint(blueprint, parse_input(input_text), **overrides)


def fail(exc: NetgenError, fmt: str = "text") -> None:
    """Print every diagnostic to stderr and exit with code 2."""
    if fmt == "json":
        print(exc.to_json(), file=sys.stderr)
    else:
        print(exc.format(snippet=True), file=sys.stderr)
    raise typer.Exit(EXIT_USER_ERROR)


def write_files(files: dict[Path, str | bytes]) -> None:
    """Write every file or none: each goes to a temporary sibling first, then is renamed."""
    staged: list[tuple[Path, str]] = []
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            staged.append((path, tmp))
    except BaseException:
        for _, tmp in staged:
            os.unlink(tmp)
        raise
    for path, tmp in staged:
        os.replace(tmp, path)
