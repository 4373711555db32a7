"""The in-memory module: the generated source itself, imported as a real module.

What a user loads is the very text they would ship. The source is written to netgen's cache
folder as `<name>_<digest>.py` and imported as `netgen.generated.<name>_<digest>` (see
netgen/generated/__init__.py), so the classes pickle by reference: `torch.save(model)`,
`torch.multiprocessing.spawn` and DataLoader workers import the same file again. Tracebacks and
`inspect.getsource` show the generated lines. Where the cache folder cannot be written, the
module is executed from memory under the same name and registered in `sys.modules` (pickling
then works within the process and in forked workers). Only this module (and the emitted code)
imports torch.
"""

from __future__ import annotations

import hashlib
import importlib
import linecache
import os
import re
import sys
import tempfile
import types
from pathlib import Path

from ..generated import cache_dir
from ..graph import Graph
from .python import generate_source

PACKAGE = "netgen.generated"


def module_name(stem: str, source: str) -> str:
    """`resnet50_1a2b3c4d5e6f7a8b`: a valid identifier, the same for the same text."""
    base = re.sub(r"\W", "_", stem.lower()).strip("_") or "model"
    if base[0].isdigit():
        base = "m_" + base
    return f"{base}_{hashlib.sha256(source.encode()).hexdigest()[:16]}"


def _write_once(folder: Path, filename: str, source: str) -> bool:
    """Write the source atomically (temporary file + os.replace) unless the file holds it already."""
    target = folder / filename
    try:
        if target.is_file() and target.read_text(encoding="utf-8") == source:
            return True
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, suffix=".tmp", delete=False) as handle:
            handle.write(source)
        os.replace(handle.name, target)
        return True
    except OSError:
        return False


def import_source(source: str, stem: str) -> types.ModuleType:
    """Import generated source as `netgen.generated.<stem>_<digest>`; return the module."""
    name = module_name(stem, source)
    qualified = f"{PACKAGE}.{name}"
    existing = sys.modules.get(qualified)
    if existing is not None:
        return existing
    folder = cache_dir()
    package = importlib.import_module(PACKAGE)
    if str(folder) not in package.__path__:  # $NETGEN_CACHE_DIR changed after the first import
        package.__path__.append(str(folder))
    if _write_once(folder, f"{name}.py", source):
        importlib.invalidate_caches()
        return importlib.import_module(qualified)
    # read-only cache: execute from memory under the same name (pickles within this process)
    filename = f"<netgen:{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    module = types.ModuleType(qualified)
    module.__file__ = filename
    sys.modules[qualified] = module
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def module_from_source(source: str, class_name: str, stem: str):
    """Import generated source as a module; return its top-level class."""
    return getattr(import_source(source, stem), class_name)


def build_module(graph: Graph, source_name: str = ""):
    """Instantiate the nn.Module described by `graph` from its generated source."""
    source, class_name = generate_source(graph, source_name)
    cls = module_from_source(source, class_name, graph.name)
    model = cls()
    model.netgen_source = source
    return model
