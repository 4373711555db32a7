"""`netgen render`: draw a blueprint's architecture for a slide (SVG, PDF, PNG or DOT)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import Diagnostic, NetgenError
from ..render.output import DOT_TIMEOUT_S, run_dot
from .choices import Detail, RankDir, ThemeName
from .common import (
    AllowPathOption,
    AllowPluginsOption,
    BlueprintArgument,
    FormatOption,
    InferenceOption,
    InputOption,
    SetOption,
    compile_from_cli,
    fail,
    refuse,
)
from .files import option_span, out_file, write_files

EXIT_NO_DOT = 1


# measured: left to right, 114 of the library's 455 blocks-level slides miss 12 px (6.2-11.9 px); the estimate
# does not yet know how dot lays a frame out sideways, so the slide rule cannot be promised there
LR_BLOCKS = ("--rankdir LR is drawn for the overview and the full level; blocks (and an overview with --expand) are "
             "laid out top to bottom only, where they fit a 1920x1080 slide with 12 px text")
PROGRESS_BOXES = 150  # a picture this large takes dot seconds: say what is happening


def render(
    blueprint: str = BlueprintArgument,
    out: Path | None = typer.Option(None, "--out", "-o", help="Output file: .svg, .pdf, .png or .gv "
                                       "(default: <name>.svg); a picture split into slides adds -1, -2, ..."),
    detail: Detail = typer.Option("overview", "--detail", "-d", help="overview: a node per block or stage; "
                                  "blocks: each block a cluster, repeats folded ×N; full: every op."),
    rankdir: RankDir = typer.Option("TB", "--rankdir", help="Flow direction: TB (top to bottom) or LR."),
    theme: ThemeName = typer.Option("light", "--theme", help="Colour theme: light or dark."),
    expand: list[str] | None = typer.Option(None, "--expand", "-e", metavar="PATH",
                                               help="Draw this block or stage one level finer (repeatable)."),
    params: bool = typer.Option(False, "--params/--no-params", help="Show parameter counts in the boxes."),
    poster: bool = typer.Option(False, "--poster", help="Draw one picture even when it cannot keep 12 px text on "
                                "a 1920x1080 slide (otherwise split into slides, or refused at --detail full)."),
    timeout: float = typer.Option(DOT_TIMEOUT_S, "--timeout", min=1, help="Seconds graphviz's dot may run."),
    inference: bool = InferenceOption,
    sets: list[str] | None = SetOption,
    input: str | None = InputOption,
    allow_plugins: bool = AllowPluginsOption,
    format: str = FormatOption,
    allow_path: list[str] | None = AllowPathOption,
) -> None:
    """Draw BLUEPRINT (into one file, -o FILE; not a folder) as a diagram that fits a 1920x1080
    slide with text of at least 12 px. A picture too large for one slide is split into slides
    (FILE-1.svg, ...), or at --detail full refused (exit 2), unless --poster. Without graphviz's `dot`, writes the
    .gv source, says how to install graphviz and exits 1.

    With --inference, the inference build: a conv with a folded batch norm says so
    ("Conv 3×3, 64, norm folded"); the ops it left out are not drawn."""
    from ..render import (
        INSTALL_HINT,
        DotFailed,
        DotMissing,
        TooLarge,
        choose_view,
        format_of,
        refusal,
        slide_views,
        to_dot,
    )
    from ..render.inference import drawn_inference
    from ..render.layout import MAX_SLIDE_BOXES
    from ..render.style import theme as theme_of

    try:
        if out is not None:
            out_file(out)
            format_of(out)
        graph = compile_from_cli(blueprint, sets, input, allow_path, allow_plugins)
        graph.written()  # the network as the diagrams draw it: past the limits, a located NG013 here
        if inference:
            from ..passes import inference_graph

            graph = inference_graph(graph)
    except ValueError as exc:  # an -o suffix that is no picture format
        fail(NetgenError([Diagnostic("NG016", str(exc), option_span("-o"), "-o")]), format)
    except NetgenError as exc:
        fail(exc, format)
    target = out or Path(f"{graph.name}.svg")  # the model name is validated: a plain file name
    root = target.parent if out is not None else Path.cwd()
    fmt = format_of(target)
    if rankdir == "LR" and (detail == "blocks" or expand) and not poster:
        refuse(option_span("--rankdir"), LR_BLOCKS, "drop --rankdir LR, or add --poster for one left-to-right picture",
               format)
    network = graph.scopes[()].span if () in graph.scopes else None
    instead = (f"draw it with --detail blocks (split into slides), --expand PATH on the overview, "
               f"`netgen slides {graph.name}`, or --poster for one large picture")
    boxes = len(drawn_inference(graph)[0]) if detail == "full" and not poster else 0  # full: a box a node
    if boxes > MAX_SLIDE_BOXES:  # decided from the graph's size, before a view is built or laid out
        refuse(network, f"{graph.name} at --detail full is {boxes:,} boxes; no 1920x1080 slide holds more "
                        f"than {MAX_SLIDE_BOXES:,} with 12 px text", instead, format)
    try:
        if poster or detail == "full":
            views = [choose_view(graph, detail, rankdir, expand or [], params)]
            problem = None if poster else refusal(views[0], rankdir)
            if problem:
                refuse(network, problem, instead, format)
        else:
            views = slide_views(graph, detail, rankdir, expand or [], params)
        sources = [to_dot(v, theme_of(theme), rankdir) for v in views]
    except TooLarge as exc:
        refuse(network, str(exc), instead, format)
    except ValueError as exc:  # an --expand path that is no block or stage
        refuse(option_span("--expand"), str(exc), "", format)
    targets = [target] if len(views) == 1 else [target.with_name(f"{target.stem}-{k + 1}{target.suffix}")
                                                 for k in range(len(views))]
    if len(views) > 1:
        print(f"netgen: {graph.name} at --detail {detail} is too large for one 1920x1080 slide with 12 px "
              f"text: drawn as {len(views)} slides", file=sys.stderr)
    files: dict[Path, bytes | str] = {}
    try:
        for k, (view, source) in enumerate(zip(views, sources, strict=True)):
            if fmt != "gv" and (len(views) > 1 or len(view.nodes) >= PROGRESS_BOXES):
                page = f"slide {k + 1}/{len(views)}: " if len(views) > 1 else ""
                print(f"netgen: {page}laying out {len(view.nodes)} boxes with dot (at most {timeout:.0f} s)",
                      file=sys.stderr)
            files[targets[k]] = run_dot(source, fmt, timeout)
    except DotMissing:
        gvs: dict[Path, str | bytes] = {t.with_suffix(".gv"): s for t, s in zip(targets, sources, strict=True)}
        try:
            write_files(gvs, root=root)
        except NetgenError as exc:
            fail(exc, format)
        print(f"netgen: error: cannot write {target}: {INSTALL_HINT}", file=sys.stderr)
        for gv in gvs:
            typer.echo(f"wrote {gv}")
        raise typer.Exit(EXIT_NO_DOT) from None
    except DotFailed as exc:
        print(f"netgen: error: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_NO_DOT) from None
    try:
        write_files(files, root=root)
    except NetgenError as exc:
        fail(exc, format)
    for path in files:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("render")(render)
