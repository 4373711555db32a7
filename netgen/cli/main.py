"""The `netgen` command: one typer module per command, joined here, and imported only when its
command runs, so that `netgen check` does not import the renderer, `--help` imports no command
and `--version` nothing at all (benchmarks/startup.py measures it)."""

from __future__ import annotations

import functools
import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# Command -> (module in netgen/cli with `register(app)`, the first paragraph of its help, which
# `netgen --help` lists without importing the module; tests/test_cli_startup.py checks it is the
# command's own). The order is the order of `netgen --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("build", "Write OUT/<name>.py, a readable standalone nn.Module (and OUT/<name>.svg), and print a "
                       "per-stage summary with the totals."),
    "check": ("check", "Validate a blueprint and check every shape, without importing torch."),
    "summary": ("summary", "Per-layer table and totals: params, MACs, FLOPs, memory, receptive field."),
    "render": ("render", "Draw BLUEPRINT (into one file, -o FILE; not a folder) as a diagram that fits a 1920x1080"
                         " slide with text of at least 12 px. A picture too large for one slide is split into "
                         "slides (FILE-1.svg, ...), or at --detail full refused (exit 2), unless --poster. Without"
                         " graphviz's `dot`, writes the .gv source, says how to install graphviz and exits 1."),
    "slides": ("slides", "Write a deck for BLUEPRINT into a folder, in lecture order: the overview, then the "
                         "inside of each distinct block definition (the bottleneck, the inception module, the "
                         "dense layer), every arrow with its shape; each slide as NN-name.svg and NN-name.png "
                         "(1920x1080 at most), all of them as deck.pdf, and as deck.pptx where python-pptx is "
                         "installed. Needs graphviz's `dot`."),
    "view": ("view", "Write BLUEPRINT as one HTML page that needs no network: the overview with every block "
                     "box opening in place (and closing again), each box's layers with shapes and costs on "
                     "hover, the per-layer table of `netgen summary` beside it, searchable by layer path. "
                     "Needs graphviz's `dot`."),
    "compare": ("compare", "Compare A and B. --set and --input change B (or A's copy when B is omitted)."),
    "bench": ("bench", "Measure the emitted model's latency and throughput on this machine (eval and train step, "
                       "batch sizes, threads, eager and torch.compile) beside its counted MACs; two blueprints are "
                       "interleaved and compared."),
    "list": ("library", "List the library blueprints, one line each."),
    "ops": ("library", "List the primitive ops with their parameters (and those of the plugins named)."),
    "schema": ("schema", "Print the JSON Schema of blueprints (for yaml-language-server: VS Code, Neovim), with "
                         "the ops of the plugins named."),
}
# Help and usage errors in click's plain form: typer's rich panels cost ~100 ms of rich's import on
# every `--help` (issue 17: at most 100 ms beyond typer), and say the same things.
TYPER_SETTINGS: dict[str, Any] = {"pretty_exceptions_enable": False, "rich_markup_mode": None}


def load_command(name: str):
    """The click command `name`, built from its module's typer registration; its callback first
    ends start-up (fast.start_work: the garbage collector is off until then)."""
    module = importlib.import_module(f"netgen.cli.{COMMANDS[name][0]}")
    holder = typer.Typer(**TYPER_SETTINGS)
    module.register(holder)
    command = typer.main.get_group(holder).commands[name]
    callback = command.callback
    if callback is not None:
        @functools.wraps(callback)
        def started(*args, **kwargs):
            from .fast import start_work

            start_work()
            return callback(*args, **kwargs)

        command.callback = started
    return command


class LazyGroup(TyperGroup):
    """A typer group whose commands are imported when one is asked for; while the group's own
    help is formatted, each command is a stand-in carrying the help sentence from COMMANDS."""

    listing = False

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, cmd_name: str):
        if cmd_name not in COMMANDS:
            return None
        if self.listing:
            # the whole sentence as the short help: click would cut it at 45 characters
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][1], short_help=COMMANDS[cmd_name][1])
        return load_command(cmd_name)

    def format_help(self, ctx, formatter) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


app = typer.Typer(
    name="netgen",
    cls=LazyGroup,
    help="Compile YAML network blueprints to checked graphs, cost tables, diagrams and PyTorch.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    **TYPER_SETTINGS,
)


def _print_version(value: bool) -> None:
    # An option callback, so that it runs while the options are parsed, before click asks for a command.
    if value:
        from .. import __version__

        typer.echo(f"netgen {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                      callback=_print_version, expose_value=True)) -> None:
    """Compile YAML network blueprints to checked graphs, cost tables, diagrams and PyTorch."""


def run() -> None:
    """The typer app under fast.guarded: user errors exit 2 with diagnostics; an internal bug exits
    3 without a traceback unless NETGEN_DEBUG=1. (The `netgen` entry point is fast.run.)"""
    from .fast import guarded

    guarded(app)
