"""`netgen summary`: per-layer shapes, parameters, MACs, memory and receptive fields, and the
totals, as a terminal table, JSON, CSV or Markdown. Never imports torch."""

from __future__ import annotations

import os
import shutil
import sys

import typer

from ..errors import NetgenError
from .choices import DType, Optimizer
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
)

UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30,
         "tib": 2**40}


def parse_bytes(text: str) -> int:
    """`24GB` -> 24e9 bytes (decimal, as the summary prints them), `24GiB` -> 24 * 2**30."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in UNITS and unit not in ("k", "m", "g", "t"):
        raise typer.BadParameter(f"Expected a size such as 24GB, 16GiB or 500MB; received {text!r}")
    factor = UNITS.get(unit) or UNITS[unit + "b"]
    return int(float(match.group(1)) * factor)


DepthOption = typer.Option(None, "--depth", "-d", min=1,
                           help="Fold ops nested deeper than N scope levels into their block (torchinfo's depth).")
BatchOption = typer.Option(1, "--batch", "-b", min=1, help="Batch size for activation and training memory.")
DTypeOption = typer.Option("float32", "--dtype",
                           help="Element type for memory figures; for training, bf16/fp16 mean autocast.")
WideOption = typer.Option(False, "--wide", "-w",
                          help="Every column, however wide the terminal (narrow ones leave some out).")
OptimizerOption = typer.Option("adam", "--optimizer",
                               help="Optimizer whose state the training plan counts (adam and adamw: 2 per weight).")
TrainOption = typer.Option(False, "--train", help="Print only the training-memory plan (docs/analysis.md).")
FitOption = typer.Option(None, "--fit", metavar="SIZE",
                         help="Print the largest batch whose training plan fits in SIZE (24GB, 16GiB).")


def console():
    """A rich console on stdout: the terminal's width, so that tables fit it (formats.py leaves
    columns out); when output is not a terminal, wide enough for the whole table."""
    from rich.console import Console

    if os.environ.get("COLUMNS", "").isdigit():  # asked for explicitly: `COLUMNS=80 netgen summary | less`
        width = int(os.environ["COLUMNS"])
    else:
        width = None if sys.stdout.isatty() else max(shutil.get_terminal_size((160, 24)).columns, 160)
    return Console(width=width, highlight=False)


def summary(
    blueprint: str = BlueprintArgument,
    sets: list[str] | None = SetOption,
    input: str | None = InputOption,
    depth: int | None = DepthOption,
    batch: int = BatchOption,
    dtype: DType = DTypeOption,
    optimizer: Optimizer = OptimizerOption,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object (schema in docs/analysis.md)."),
    csv_out: bool = typer.Option(False, "--csv", help="Print the rows as CSV (exact integers)."),
    markdown: bool = typer.Option(False, "--markdown", help="Print Markdown tables, for slides and docs."),
    wide: bool = WideOption,
    train: bool = TrainOption,
    fit: str | None = FitOption,
    inference: bool = InferenceOption,
    allow_plugins: bool = AllowPluginsOption,
    format: str = FormatOption,
    allow_path: list[str] | None = AllowPathOption,
) -> None:
    """Per-layer table and totals: params, MACs, FLOPs, memory, receptive field.

    With --inference, of the inference build (docs/inference.md)."""
    from ..analysis import summarize
    from ..analysis.formats import render_summary, to_csv, to_json, to_markdown, training_text

    if sum((json_out, csv_out, markdown)) > 1:
        typer.echo("netgen summary: choose one of --json, --csv, --markdown", err=True)
        raise typer.Exit(2)
    try:
        graph = compile_from_cli(blueprint, sets, input, allow_path, allow_plugins)
    except NetgenError as exc:
        fail(exc, "json" if json_out else format)
    if inference:
        from ..passes import inference_graph

        graph = inference_graph(graph)
    budget = parse_bytes(fit) if fit is not None else None
    result = summarize(graph, batch=batch, dtype=dtype, optimizer=optimizer)
    if json_out:
        typer.echo(to_json(result, depth, budget))
    elif train or budget is not None:
        typer.echo(training_text(result, budget))
    elif csv_out:
        typer.echo(to_csv(result, depth), nl=False)
    elif markdown:
        typer.echo(to_markdown(result, depth), nl=False)
    else:
        render_summary(result, depth, console(), wide)


def register(app: typer.Typer) -> None:
    app.command("summary")(summary)
