"""`netgen schema`: print the blueprint language's JSON Schema, for editors
(docs/editors.md). Never imports torch."""

from __future__ import annotations

import typer

from .library import PluginNamesOption, load_plugins_or_fail


def schema(plugin: list[str] | None = PluginNamesOption) -> None:
    """Print the JSON Schema of blueprints (for yaml-language-server: VS Code, Neovim), with the
    ops of the plugins named."""
    from ..schema import schema_text

    load_plugins_or_fail(plugin)
    typer.echo(schema_text(), nl=False)


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
