"""The Python API: compile a blueprint to a graph, to source, or to an nn.Module.

    import netgen
    graph = netgen.compile_blueprint("blueprints/resnet50.yaml", num_classes=10)
    model = netgen.load("blueprints/resnet50.yaml", num_classes=10)    # an nn.Module
    text = netgen.python_source("blueprints/resnet50.yaml")

Keyword arguments override the blueprint's params; `input=(3, 32, 32)` overrides its input.
A bare library name (`"resnet50"`) is looked up in the blueprint library.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import library
from .blueprint import load_blueprint
from .errors import Diagnostic, NetgenError
from .graph import Graph
from .lower import lower


def library_dir() -> Path:
    """The blueprint library folder (netgen.library.root())."""
    return library.root()


def library_blueprints() -> list[Path]:
    """Library blueprints that define a network (block libraries under lib/ are excluded)."""
    return library.models()


def resolve_blueprint(path: str | os.PathLike) -> Path:
    """A path as given, or a library model name such as `resnet50` (or `netgen:resnet50`)."""
    text = str(path)
    candidate = Path(path)
    if not text.startswith(library.LIBRARY_PREFIX) and (candidate.exists() or candidate.suffix in (".yaml", ".yml")):
        return candidate
    named = library.find(text)
    if named is not None:
        return named
    known = [p.stem for p in library_blueprints()]
    from .errors import did_you_mean

    hint = did_you_mean(text.removeprefix(library.LIBRARY_PREFIX), known) or "run `netgen list`"
    raise NetgenError([Diagnostic("NG001", f"no blueprint file `{path}` and no library model of that name", hint=hint)])


def compile_blueprint(path: str | os.PathLike, input: Sequence[int] | None = None, **params: Any) -> Graph:
    """Load, validate, lower and shape-check a blueprint; raise NetgenError on mistakes."""
    bp = load_blueprint(resolve_blueprint(path), overrides=params, input_shape=list(input) if input else None)
    return lower(bp)


def python_source(path: str | os.PathLike, input: Sequence[int] | None = None, **params: Any) -> str:
    """The standalone PyTorch source that `netgen build` writes."""
    from .codegen import generate_source

    graph = compile_blueprint(path, input, **params)
    return generate_source(graph, Path(graph.meta["source"]).name)[0]


def load(path: str | os.PathLike, input: Sequence[int] | None = None, **params: Any):
    """Compile a blueprint into an in-memory `torch.nn.Module` (the generated source, executed)."""
    from .codegen.module import build_module  # imports torch only here

    graph = compile_blueprint(path, input, **params)
    return build_module(graph, Path(graph.meta["source"]).name)
