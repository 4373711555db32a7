"""What every command shares: blueprint options and error printing (file writing: files.py)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..errors import Diagnostic, NetgenError, Span
from .files import write_files  # noqa: F401  (re-exported: the commands write through it)

EXIT_USER_ERROR = 2

SetOption = typer.Option(None, "--set", "-s", metavar="KEY=VALUE",
                         help="Override a blueprint param (repeatable); the value is read as YAML.")
InputOption = typer.Option(None, "--input", "-i", metavar="CxHxW", help="Override the input shape, e.g. 3x32x32.")
FormatOption = typer.Option("text", "--format", help="Error format: text or json.")
AllowPathOption = typer.Option(None, "--allow-path", metavar="DIR",
                               help="Let `use:`/`extends:` import from DIR too (repeatable); by default imports "
                                    "stay in the blueprint's folder, NETGEN_PATH and the library.")

if TYPE_CHECKING:
    from ..graph import Graph

INPUT_SPAN = Span("<--input>", 1, 1)

def complete_blueprint(incomplete: str) -> list[str]:
    """Shell completion of a blueprint argument: library names, `netgen:` names, and .yaml
    files under the folder being typed."""
    from .. import library

    names = [p.stem for p in library.models()]
    if incomplete.startswith(library.LIBRARY_PREFIX):
        return [library.LIBRARY_PREFIX + n for n in names if (library.LIBRARY_PREFIX + n).startswith(incomplete)]
    folder = Path(incomplete).parent if "/" in incomplete else Path(".")
    try:
        files = sorted(str(p) + ("/" if p.is_dir() else "") for p in folder.iterdir()
                       if p.suffix in (".yaml", ".yml") or (p.is_dir() and not p.name.startswith(".")))
    except OSError:
        files = []
    files = [f[2:] if f.startswith("./") else f for f in files]
    return [c for c in (*names, *files) if c.startswith(incomplete)]


BlueprintArgument = typer.Argument(..., help="Blueprint file, or a library model name.",
                                   autocompletion=complete_blueprint)
AllowPluginsOption = typer.Option(False, "--allow-plugins",
                                  help="Let the blueprint import the Python modules its `plugins:` names (runs them).")


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


def fail(exc: NetgenError, fmt: str = "text") -> None:
    """Print every diagnostic to stderr and exit with code 2."""
    if fmt == "json":
        print(exc.to_json(), file=sys.stderr)
    else:
        print(exc.format(snippet=True), file=sys.stderr)
    raise typer.Exit(EXIT_USER_ERROR)
