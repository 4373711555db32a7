"""`netgen schema`: print the blueprint language's JSON Schema, for editors
(docs/editors.md). Never imports torch."""

from __future__ import annotations

import typer


def schema() -> None:
    """Print the JSON Schema of blueprints (for yaml-language-server: VS Code, Neovim)."""
    from ..schema import schema_text

    typer.echo(schema_text(), nl=False)


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
