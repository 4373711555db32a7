"""`netgen build`: compile a blueprint to a standalone PyTorch file (the main job)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..analysis import summarize
from ..analysis.formats import render_summary
from ..codegen import generate_source
from ..errors import NetgenError
from ..shapes import format_shape
from .common import (
    AllowPathOption,
    AllowPluginsOption,
    BlueprintArgument,
    ChannelsLastOption,
    FormatOption,
    InferenceOption,
    InputOption,
    SetOption,
    compile_from_cli,
    fail,
)
from .files import out_folder, write_files
from .summary import WideOption, console


def build(
    blueprint: str = BlueprintArgument,
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output folder (made if missing): OUT/<name>.py "
                             "and a diagram; an existing file there is refused."),
    sets: list[str] | None = SetOption,
    input: str | None = InputOption,
    wide: bool = WideOption,
    allow_plugins: bool = AllowPluginsOption,
    format: str = FormatOption,
    allow_path: list[str] | None = AllowPathOption,
    inference: bool = InferenceOption,
    channels_last: bool = ChannelsLastOption,
) -> None:
    """Write OUT/<name>.py, a readable standalone nn.Module (and OUT/<name>.svg), and print a
    per-stage summary with the totals.

    With --inference: OUT/<name>_inference.py, the inference build, whose inference_state_dict()
    converts the training build's weights (docs/inference.md)."""
    if channels_last and not inference:
        typer.echo("error: --channels-last is an option of the inference build; add --inference", err=True)
        raise typer.Exit(2)
    try:
        out_folder(out)
        graph = compile_from_cli(blueprint, sets, input, allow_path, allow_plugins)
        if inference:
            from ..passes import inference_graph

            graph = inference_graph(graph, channels_last=channels_last)
        source, class_name = generate_source(graph, Path(graph.meta["source"]).name)
        files: dict[Path, str | bytes] = {out / f"{graph.name}.py": source}
        for extra in BUILD_EXTRAS:
            files.update(extra(graph, out))
        write_files(files, root=out)
    except NetgenError as exc:
        fail(exc, format)
    result = summarize(graph)
    render_summary(result, 1, console(), wide)  # one row per top-level item, then the totals
    ins = ", ".join(format_shape(graph[i].shape) for i in graph.inputs)
    outs = ", ".join(format_shape(graph[o].shape) for o in graph.outputs)
    typer.echo(f"{graph.name}: {ins} -> {outs}, {result.params:,} parameters, {result.macs:,} MACs")
    plan = graph.meta.get("inference")
    if plan is not None:
        typer.echo(f"inference build: {len(plan.folds)} batch norms folded into the op before them, "
                   f"{len(plan.kept_norms)} kept, {len(plan.identities)} dropout/drop-path ops and "
                   f"{len(plan.removed)} training-only modules left out, {len(plan.in_place)} activations "
                   f"made in place" + (f", channels_last with {len(plan.prepacked)} convs' weights packed"
                                       if plan.channels_last else ""))
    for path in files:
        typer.echo(f"wrote {path}")
    typer.echo(f"class {class_name} in {out / (graph.name + '.py')}")


# Other back ends add files to a build (the diagram): functions (graph, out_dir) -> {path: content}.
BUILD_EXTRAS: list = []


def _diagram(graph, out: Path) -> dict[Path, str | bytes]:
    """OUT/<name>.svg, the overview diagram (OUT/<name>.gv where graphviz is missing)."""
    from ..render import build_diagram

    return build_diagram(graph, out)


BUILD_EXTRAS.append(_diagram)


def register(app: typer.Typer) -> None:
    app.command("build")(build)
