"""`netgen view`: a self-contained HTML page to explore a blueprint in the browser."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import NetgenError
from ..render.output import DOT_TIMEOUT_S
from .choices import RankDir, ThemeName
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
from .files import out_file, write_files
from .render import EXIT_NO_DOT


def view(
    blueprint: str = BlueprintArgument,
    out: Path | None = typer.Option(None, "--out", "-o", help="The page to write (default: <name>.html)."),
    open_page: bool = typer.Option(True, "--open/--no-open", help="Open the page in the default browser."),
    rankdir: RankDir = typer.Option("TB", "--rankdir", help="Flow direction: TB (top to bottom) or LR."),
    theme: ThemeName = typer.Option("light", "--theme", help="Colour theme: light or dark."),
    timeout: float = typer.Option(DOT_TIMEOUT_S, "--timeout", min=1, help="Seconds dot may run per picture."),
    sets: list[str] | None = SetOption,
    input: str | None = InputOption,
    format: str = FormatOption,
    allow_path: list[str] | None = AllowPathOption,
    allow_plugins: bool = AllowPluginsOption,
) -> None:
    """Write BLUEPRINT as one HTML page that needs no network: the overview with every block box
    opening in place (and closing again), each box's layers with shapes and costs on hover, the
    per-layer table of `netgen summary` beside it, searchable by layer path. Needs graphviz's `dot`."""
    from ..render import INSTALL_HINT, DotFailed, DotMissing
    from ..render.html import html_page

    try:
        if out is not None:
            out_file(out)
        graph = compile_from_cli(blueprint, sets, input, allow_path, allow_plugins)
        graph.written()  # the network as the diagrams draw it: past the limits, a located NG013 here
    except NetgenError as exc:
        fail(exc, format)
    target = out or Path(f"{graph.name}.html")
    try:
        page = html_page(graph, rankdir, theme, timeout,
                         progress=lambda line: print(f"netgen: {line}", file=sys.stderr))
    except DotMissing:
        print(f"netgen: error: cannot draw the page: {INSTALL_HINT.split(', so only')[0]}", file=sys.stderr)
        raise typer.Exit(EXIT_NO_DOT) from None
    except DotFailed as exc:
        print(f"netgen: error: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_NO_DOT) from None
    try:
        write_files({target: page}, root=target.parent if out is not None else Path.cwd())
    except NetgenError as exc:
        fail(exc, format)
    typer.echo(f"wrote {target}")
    if open_page:
        import os
        import webbrowser

        headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or
                                                             os.environ.get("WAYLAND_DISPLAY"))
        if headless or not webbrowser.open(target.resolve().as_uri()):
            print(f"netgen: no browser to open here; open {target} in one", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("view")(view)
