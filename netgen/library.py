"""The blueprint library: where the shipped blueprints are, one function for everyone.

The repository keeps the library in its top-level `blueprints/` folder; a built wheel or
sdist carries the same files as the package data `netgen/blueprints/` (pyproject.toml and
setup.py map one onto the other). `root()` finds them the same way whichever of the two a
user has: through `importlib.resources` in an installed package, else beside the source
tree (a checkout, or an editable install of one).

    from netgen import library
    library.root()                 # the folder: blueprints/*.yaml and blueprints/lib/*.yaml
    library.models()               # the blueprints that define a network, sorted
    library.find("resnet50")       # root()/resnet50.yaml, or None
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from pathlib import Path

# The package data folder inside `netgen` (what the wheel installs).
PACKAGE_DATA = "blueprints"
# The library prefix a blueprint may write to name a library file from anywhere (`netgen:resnet50`).
LIBRARY_PREFIX = "netgen:"


@cache
def root() -> Path:
    """The folder that holds the library blueprints.

    A Path, not just a Traversable: pip installs wheels as plain files, and diagnostics need
    a file name and line to point at. A zipped install (zipimport) is not supported.
    """
    shipped = importlib.resources.files("netgen") / PACKAGE_DATA
    if shipped.is_dir():
        return Path(str(shipped))
    source_tree = Path(__file__).resolve().parent.parent / "blueprints"
    if source_tree.is_dir():
        return source_tree
    raise FileNotFoundError(f"netgen's blueprint library is missing: neither {shipped} nor {source_tree} exists;"
                            " reinstall netgen")


def library_dir() -> Path:
    """root(), under the name the resolver and api.py use."""
    return root()


def models() -> list[Path]:
    """Library blueprints at the top level (block libraries under lib/ are not listed)."""
    return sorted(p for p in root().glob("*.yaml") if p.is_file())


def find(name: str) -> Path | None:
    """The library file for `name` (`resnet50`, `resnet50.yaml`, `lib/resnet_blocks.yaml`,
    with or without the `netgen:` prefix), or None. Never leaves the library folder."""
    if name.startswith(LIBRARY_PREFIX):
        name = name[len(LIBRARY_PREFIX):]
    if not name or "\\" in name or name.startswith("/"):
        return None
    relative = name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"
    base = root().resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


library_blueprints = models
