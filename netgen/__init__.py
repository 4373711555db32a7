"""netgen: a declarative compiler from YAML network blueprints to checked graphs, cost tables,
diagrams and PyTorch. The pipeline, one module per stage:

    source.py     YAML with positions          blueprint.py  file model, imports, params
    expr.py       safe `${...}` expressions     lowering/     items/blocks -> graph, shapes
    graph.py      the IR (networkx DAG)         ops/          one file per primitive op
    codegen/      PyTorch source and module     cli/          the `netgen` command
"""

from .api import compile_blueprint, compile_text, library_blueprints, load, loads, python_source
from .errors import Diagnostic, NetgenError

__version__ = "0.1.0"
__all__ = [
    "compile_blueprint", "compile_text", "load", "loads", "python_source", "library_blueprints", "NetgenError",
    "Diagnostic", "__version__",
]
