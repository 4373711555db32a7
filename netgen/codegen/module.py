"""The in-memory module: the generated source itself, executed (torch.fx's `recompile`).

What a user loads is the very text they would ship: the source is compiled under a file
name registered with `linecache`, so tracebacks and `inspect.getsource` show the generated
lines. Only this module (and the emitted code) imports torch.
"""

from __future__ import annotations

import linecache
import types

from ..graph import Graph
from .python import generate_source


def module_from_source(source: str, class_name: str, filename: str):
    """Execute generated source as a fresh Python module; return the top-level class."""
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    code = compile(source, filename, "exec")
    namespace = types.ModuleType(filename.rsplit("/", 1)[-1].removesuffix(".py").replace("<", "").replace(">", ""))
    namespace.__file__ = filename
    exec(code, namespace.__dict__)
    return getattr(namespace, class_name)


def build_module(graph: Graph, source_name: str = ""):
    """Instantiate the nn.Module described by `graph` from its generated source."""
    source, class_name = generate_source(graph, source_name)
    cls = module_from_source(source, class_name, f"<netgen:{graph.name}>")
    model = cls()
    model.netgen_source = source
    return model
