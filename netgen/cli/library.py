"""`netgen list` and `netgen ops`: what the library and the op registry offer."""

from __future__ import annotations

import typer

from ..api import library_blueprints
from ..ops import REGISTRY
from ..source import load_yaml


def list_blueprints() -> None:
    """List the library blueprints, one line each."""
    for path in library_blueprints():
        data = load_yaml(path)
        doc = str(data.get("doc", "")).strip().splitlines()[0] if data.get("doc") else ""
        typer.echo(f"{path.stem:<24} {doc}")


PluginNamesOption = typer.Option(None, "--plugin", "-p", metavar="MODULE",
                                 help="Also import this plugin module (repeatable): naming it is the permission.")


def load_plugins_or_fail(names: list[str] | None) -> None:
    """Import the plugins named on the command line; a broken one is a located user error."""
    from ..errors import NetgenError
    from ..plugins import load_named
    from .common import fail

    try:
        load_named(names or [])
    except NetgenError as exc:
        fail(exc)


def list_ops(plugin: list[str] | None = PluginNamesOption) -> None:
    """List the primitive ops with their parameters (and those of the plugins named)."""
    from ..plugins import plugin_of

    load_plugins_or_fail(plugin)
    seen = set()
    for name in sorted(REGISTRY):
        cls = REGISTRY[name]
        if cls in seen:
            continue
        seen.add(cls)
        aliases = f" (alias {', '.join(cls.aliases)})" if cls.aliases else ""
        source = f" [plugin {plugin_of(cls.kind)}]" if plugin_of(cls.kind) else ""
        typer.echo(f"{cls.kind:<18} {cls.doc}{aliases}{source}")


def register(app: typer.Typer) -> None:
    app.command("list")(list_blueprints)
    app.command("ops")(list_ops)
