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

from . import library, limits
from .blueprint import load_blueprint
from .errors import Diagnostic, NetgenError, Span
from .graph import Graph
from .lowering import lower


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
    raise NetgenError([Diagnostic("NG001", f"no blueprint file `{path}` and no library model of that name",
                                  Span(text[:200], 1, 1), hint=hint)])


def compile_blueprint(path: str | os.PathLike, input: Sequence[int] | None = None,
                      allow_paths: Sequence[str | os.PathLike] = (), **params: Any) -> Graph:
    """Load, validate, lower and shape-check a blueprint; raise NetgenError on mistakes.

    The compile runs under the wall-clock budget of netgen/limits.py; `allow_paths` are
    folders, besides the blueprint's own, $NETGEN_PATH and the library, that imports may use."""
    file = resolve_blueprint(path)
    with limits.compile_budget(where=Span(str(file), 1, 1)):
        try:
            bp = load_blueprint(file, overrides=params, input_shape=list(input) if input else None,
                                allow_paths=[Path(p) for p in allow_paths])
            return lower(bp)
        except RecursionError:  # a structure nested past Python's stack: the user's input, not a bug
            raise NetgenError([Diagnostic("NG013", "the blueprint nests too deeply to compile", Span(str(file), 1, 1),
                                          hint="nested blocks, forms and imports stay within a few dozen levels")]
                              ) from None


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
