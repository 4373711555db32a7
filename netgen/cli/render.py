"""`netgen render`: draw a blueprint's architecture for a slide (SVG, PDF, PNG or DOT)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from ..errors import NetgenError
from .common import FormatOption, InputOption, SetOption, compile_from_cli, fail, write_files

EXIT_NO_DOT = 1


class Detail(str, Enum):
    overview = "overview"
    blocks = "blocks"
    full = "full"


class RankDir(str, Enum):
    TB = "TB"
    LR = "LR"


class ThemeName(str, Enum):
    light = "light"
    dark = "dark"


def render(
    blueprint: str = typer.Argument(..., help="Blueprint file, or a library model name."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output file: .svg, .pdf, .png or .gv "
                                       "(default: <name>.svg)."),
    detail: Detail = typer.Option(Detail.overview, "--detail", "-d", help="overview: a node per block or stage; "
                                  "blocks: each block a cluster, repeats folded ×N; full: every op."),
    rankdir: RankDir = typer.Option(RankDir.TB, "--rankdir", help="Flow direction: TB (top to bottom) or LR."),
    theme: ThemeName = typer.Option(ThemeName.light, "--theme", help="Colour theme: light or dark."),
    expand: list[str] | None = typer.Option(None, "--expand", "-e", metavar="PATH",
                                               help="Draw this block or stage one level finer (repeatable)."),
    params: bool = typer.Option(False, "--params/--no-params", help="Show parameter counts in the boxes."),
    sets: list[str] | None = SetOption,
    input: str | None = InputOption,
    format: str = FormatOption,
) -> None:
    """Draw BLUEPRINT as a diagram sized for a 16:9 slide. Without graphviz's `dot`, writes
    the .gv source, says how to install graphviz and exits 1."""
    from ..render import INSTALL_HINT, DotMissing, format_of, render_source, run_dot

    try:
        graph = compile_from_cli(blueprint, sets, input)
    except NetgenError as exc:
        fail(exc, format)
    target = out or Path(f"{graph.name}.svg")
    try:
        fmt = format_of(target)
        source = render_source(graph, detail.value, rankdir.value, theme.value, expand or [], params)
    except ValueError as exc:
        print(f"netgen: error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    try:
        content = run_dot(source, fmt)
    except DotMissing:
        gv = target.with_suffix(".gv")
        write_files({gv: source})
        print(f"netgen: error: cannot write {target}: {INSTALL_HINT}", file=sys.stderr)
        typer.echo(f"wrote {gv}")
        raise typer.Exit(EXIT_NO_DOT) from None
    write_files({target: content})
    typer.echo(f"wrote {target}")


def register(app: typer.Typer) -> None:
    app.command("render")(render)
