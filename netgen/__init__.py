"""netgen: a declarative compiler from YAML network blueprints to checked graphs, cost tables,
diagrams and PyTorch. The pipeline, one module per stage:

    source.py     YAML with positions          blueprint.py  file model, imports, params
    expr.py       safe `${...}` expressions     lowering/     items/blocks -> graph, shapes
    graph.py      the IR (networkx DAG)         ops/          one file per primitive op
    codegen/      PyTorch source and module     cli/          the `netgen` command
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import Diagnostic, NetgenError

if TYPE_CHECKING:
    from .api import (
        compile_blueprint,
        compile_text,
        inference_graph,
        inference_state_dict,
        library_blueprints,
        load,
        loads,
        python_source,
    )

__version__ = "0.1.0"
__all__ = [
    "compile_blueprint", "compile_text", "load", "loads", "python_source", "library_blueprints", "inference_graph",
    "inference_state_dict", "NetgenError", "Diagnostic", "__version__",
]
_API = {"compile_blueprint", "compile_text", "load", "loads", "python_source", "library_blueprints",
        "inference_graph", "inference_state_dict"}


def __getattr__(name: str):
    # The API (and with it the ops, networkx and pydantic) is imported on first use, so that
    # `netgen --version`, `--help` and the CLI's start-up do not pay for what they do not call.
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'netgen' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _API)
