"""What every command shares: blueprint options and error printing (file writing: files.py)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer

from ..errors import Diagnostic, NetgenError, Span
from .compiling import (  # noqa: F401  (re-exported: the commands compile and report through them)
    EXIT_USER_ERROR,
    INPUT_SPAN,
    check_line,
    compile_from_cli,
    parse_input,
    print_diagnostics,
)
from .files import write_files  # noqa: F401  (re-exported: the commands write through it)

SetOption = typer.Option(None, "--set", "-s", metavar="KEY=VALUE",
                         help="Override a blueprint param (repeatable); the value is read as YAML.")
InputOption = typer.Option(None, "--input", "-i", metavar="CxHxW", help="Override the input shape, e.g. 3x32x32.")
FormatOption = typer.Option("text", "--format", help="Error format: text or json.")
AllowPathOption = typer.Option(None, "--allow-path", metavar="DIR",
                               help="Let `use:`/`extends:` import from DIR too (repeatable); by default imports "
                                    "stay in the blueprint's folder, NETGEN_PATH and the library.")


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
InferenceOption = typer.Option(False, "--inference",
                               help="The inference build: batch norms folded into the convs before them, "
                                    "dropout, drop-path and training-only heads left out (docs/inference.md).")
ChannelsLastOption = typer.Option(False, "--channels-last",
                                  help="With --inference: keep the parameters and the input in channels_last.")
AllowPluginsOption = typer.Option(False, "--allow-plugins",
                                  help="Let the blueprint import the Python modules its `plugins:` names (runs them).")


def fail(exc: NetgenError, fmt: str = "text") -> None:
    """Print every diagnostic to stderr and exit with code 2."""
    print_diagnostics(exc, fmt)
    raise typer.Exit(EXIT_USER_ERROR)


def refuse(span: Span | None, message: str, hint: str, fmt: str = "text") -> NoReturn:
    """A picture netgen will not draw (render, slides): a located NG018, exit 2, at the network
    or at the option that asked for it."""
    fail(NetgenError([Diagnostic("NG018", message, span, hint=hint)]), fmt)
    raise AssertionError("fail exits")  # for the type checker: fail raises typer.Exit
