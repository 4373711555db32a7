"""`netgen compare`: two blueprints, or one blueprint and a `--set` variant, side by side:
totals and per-stage differences ("what did my change cost"). Never imports torch."""

from __future__ import annotations

import typer

from ..errors import NetgenError
from .common import (
    AllowPathOption,
    AllowPluginsOption,
    FormatOption,
    InputOption,
    SetOption,
    compile_from_cli,
    complete_blueprint,
    fail,
)
from .summary import BatchOption, DTypeOption, OptimizerOption, WideOption, console

SetAOption = typer.Option(None, "--set-a", metavar="KEY=VALUE", help="Override a param of A only (repeatable).")


def _label(blueprint: str, sets: list[str] | None, input_text: str | None) -> str:
    extras = list(sets or []) + ([f"input={input_text}"] if input_text else [])
    return blueprint + (f" ({', '.join(extras)})" if extras else "")


def compare(
    a: str = typer.Argument(..., help="Blueprint A (the baseline).", autocompletion=complete_blueprint),
    b: str | None = typer.Argument(None, help="Blueprint B; omitted: A again, changed by --set/--input.",
                                   autocompletion=complete_blueprint),
    sets: list[str] | None = SetOption,
    input: str | None = InputOption,
    sets_a: list[str] | None = SetAOption,
    input_a: str | None = typer.Option(None, "--input-a", metavar="CxHxW", help="Override A's input shape."),
    depth: int = typer.Option(1, "--depth", "-d", min=1, help="Scope depth of the per-stage rows."),
    batch: int = BatchOption,
    dtype=DTypeOption,
    optimizer=OptimizerOption,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    markdown: bool = typer.Option(False, "--markdown", help="Print Markdown tables."),
    wide: bool = WideOption,
    allow_plugins: bool = AllowPluginsOption,
    format: str = FormatOption,
    allow_path: list[str] | None = AllowPathOption,
) -> None:
    """Compare A and B. --set and --input change B (or A's copy when B is omitted)."""
    from ..analysis import compare as compare_summaries
    from ..analysis import summarize
    from ..analysis.formats import compare_json, compare_markdown, render_compare

    if b is None and not sets and not input:
        typer.echo("netgen compare: give a second blueprint, or --set/--input to make a variant of the first", err=True)
        raise typer.Exit(2)
    b_path = b or a
    try:
        graph_a = compile_from_cli(a, sets_a, input_a, allow_path, allow_plugins)
    except NetgenError as exc:
        fail(exc, "json" if json_out else format)
    try:
        graph_b = compile_from_cli(b_path, sets, input, allow_path, allow_plugins)
    except NetgenError as exc:
        fail(exc, "json" if json_out else format)
    kwargs = {"batch": batch, "dtype": dtype, "optimizer": optimizer}
    result = compare_summaries(summarize(graph_a, **kwargs), summarize(graph_b, **kwargs),
                               _label(a, sets_a, input_a), _label(b_path, sets, input), depth)
    if json_out:
        typer.echo(compare_json(result))
    elif markdown:
        typer.echo(compare_markdown(result), nl=False)
    else:
        render_compare(result, console(), wide)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
