"""The `netgen` command: one typer module per command, joined here."""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="netgen",
    help="Compile YAML network blueprints to checked graphs, cost tables, diagrams and PyTorch.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
)

# Each module has `register(app)`; the order is the order of `netgen --help`.
COMMAND_MODULES = ["build", "check", "summary", "render", "slides", "view", "compare", "library", "schema"]

for _name in COMMAND_MODULES:
    importlib.import_module(f"netgen.cli.{_name}").register(app)


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
    """Entry point: user errors exit 2 with diagnostics; an internal bug exits 3 without a traceback
    unless NETGEN_DEBUG=1."""
    import os

    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # an internal bug, not the user's mistake
        if os.environ.get("NETGEN_DEBUG"):
            raise
        print(f"netgen: internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in netgen; rerun with NETGEN_DEBUG=1 for the traceback.", file=sys.stderr)
        sys.exit(3)
