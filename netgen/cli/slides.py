"""`netgen slides`: a lecture deck of a blueprint, each picture fitting a 1920x1080 slide."""

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
    refuse,
)
from .files import option_span, out_folder, write_files
from .render import EXIT_NO_DOT


def slides(
    blueprint: str = BlueprintArgument,
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for the deck (default: <name>-slides/)."),
    rankdir: RankDir = typer.Option("TB", "--rankdir", help="Flow direction: TB (top to bottom) or LR."),
    theme: ThemeName = typer.Option("light", "--theme", help="Colour theme: light or dark."),
    timeout: float = typer.Option(DOT_TIMEOUT_S, "--timeout", min=1, help="Seconds dot may run per picture."),
    sets: list[str] | None = SetOption,
    input: str | None = InputOption,
    format: str = FormatOption,
    allow_path: list[str] | None = AllowPathOption,
    allow_plugins: bool = AllowPluginsOption,
) -> None:
    """Write a deck for BLUEPRINT into a folder, in lecture order: the overview, then the inside of
    each distinct block definition (the bottleneck, the inception module, the dense layer), every
    arrow with its shape; each slide as NN-name.svg and NN-name.png (1920x1080 at most), all of
    them as deck.pdf, and as deck.pptx where python-pptx is installed. Needs graphviz's `dot`."""
    from ..render import INSTALL_HINT, DotFailed, DotMissing
    from ..render.deck import deck_slides, slide_files

    try:
        if out is not None:
            out_folder(out)
        graph = compile_from_cli(blueprint, sets, input, allow_path, allow_plugins)
        graph.written()  # the network as the diagrams draw it: past the limits, a located NG013 here
    except NetgenError as exc:
        fail(exc, format)
    if rankdir == "LR":
        refuse(option_span("--rankdir"), "a deck's block slides are laid out top to bottom only (left to right "
               "they do not yet keep 12 px text on a 1920x1080 slide)", "drop --rankdir LR", format)
    folder = out or Path(f"{graph.name}-slides")
    deck = deck_slides(graph, rankdir)
    print(f"netgen: {graph.name}: {len(deck)} slides", file=sys.stderr)
    try:
        files = slide_files(deck, theme, rankdir, timeout,
                            progress=lambda line: print(f"netgen: {line}", file=sys.stderr))
    except DotMissing:
        print(f"netgen: error: cannot draw the deck: {INSTALL_HINT.split(', so only')[0]}", file=sys.stderr)
        raise typer.Exit(EXIT_NO_DOT) from None
    except DotFailed as exc:
        print(f"netgen: error: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_NO_DOT) from None
    try:
        write_files({folder / name: content for name, content in files.items()}, root=folder)
    except NetgenError as exc:
        fail(exc, format)
    if "deck.pptx" not in files:
        print("netgen: note: no deck.pptx (install python-pptx for one)", file=sys.stderr)
    for slide in deck:
        typer.echo(f"{folder / slide.name}.svg  {slide.title}")
    typer.echo(f"wrote {len(files)} files to {folder}")


def register(app: typer.Typer) -> None:
    app.command("slides")(slides)
