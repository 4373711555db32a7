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


def list_ops() -> None:
    """List the primitive ops with their parameters."""
    seen = set()
    for name in sorted(REGISTRY):
        cls = REGISTRY[name]
        if cls in seen:
            continue
        seen.add(cls)
        aliases = f" (alias {', '.join(cls.aliases)})" if cls.aliases else ""
        typer.echo(f"{cls.kind:<18} {cls.doc}{aliases}")


def register(app: typer.Typer) -> None:
    app.command("list")(list_blueprints)
    app.command("ops")(list_ops)
