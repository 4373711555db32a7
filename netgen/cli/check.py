"""`netgen check`: validate and shape-check a blueprint; exit 0, or 2 with located errors."""

from __future__ import annotations

import typer

from ..errors import NetgenError
from ..shapes import format_shape
from .common import (
    AllowPathOption,
    AllowPluginsOption,
    BlueprintArgument,
    FormatOption,
    InputOption,
    SetOption,
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
    ops = sum(1 for _ in graph.ops())
    params = graph.parameter_count()
    ins = ", ".join(format_shape(graph[i]["shape"]) for i in graph.inputs)
    outs = ", ".join(format_shape(graph[o]["shape"]) for o in graph.outputs)
    typer.echo(f"ok: {graph.name}: {ops} ops, {ins} -> {outs}, {params:,} parameters")


def register(app: typer.Typer) -> None:
    app.command("check")(check)
