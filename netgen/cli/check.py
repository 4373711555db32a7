"""`netgen check`: validate and shape-check a blueprint; exit 0, or 2 with located errors."""

from __future__ import annotations

import typer

from ..errors import NetgenError
from .common import (
    AllowPathOption,
    AllowPluginsOption,
    BlueprintArgument,
    FormatOption,
    InputOption,
    SetOption,
    check_line,
    compile_from_cli,
    fail,
)


def check(
    blueprint: str = BlueprintArgument,
    sets: list[str] | None = SetOption,
    input: str | None = InputOption,
    allow_plugins: bool = AllowPluginsOption,
    format: str = FormatOption,
    allow_path: list[str] | None = AllowPathOption,
) -> None:
    """Validate a blueprint and check every shape, without importing torch."""
    try:
        graph = compile_from_cli(blueprint, sets, input, allow_path, allow_plugins)
    except NetgenError as exc:
        fail(exc, format)
    typer.echo(check_line(graph))


def register(app: typer.Typer) -> None:
    app.command("check")(check)
