"""The search path of `use:` and `extends:`, and the folders an import may come from.

Where the built-in library lives is netgen/library.py's `root()`. An import names a
file relative to the importing blueprint (`use: [lib/resnet_blocks.yaml]`,
`extends: resnet50.yaml`) and is looked up, in order, in the importing file's own folder,
each `NETGEN_PATH` entry (os.pathsep-separated) and the library; `netgen:NAME` names a
library file explicitly (`extends: netgen:resnet50`, `use: [netgen:lib/resnet_blocks.yaml]`).

A blueprint is untrusted (docs/security.md), so an import must end in .yaml or .yml and,
once symlinks are resolved, lie inside a root: the folder of the blueprint the user named,
a `NETGEN_PATH` entry, the library, or a folder the user allowed (`--allow-path DIR`).
Anything else is refused before it is opened, so an error never shows a file that is not
a blueprint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from . import library

LIBRARY_PREFIX = library.LIBRARY_PREFIX
PATH_ENV = "NETGEN_PATH"
BLUEPRINT_SUFFIXES = (".yaml", ".yml")


def search_path_entries() -> list[Path]:
    """The folders named by $NETGEN_PATH, in order (empty entries skipped)."""
    return [Path(p) for p in os.environ.get(PATH_ENV, "").split(os.pathsep) if p.strip()]


class ImportRefused(Exception):
    """An import that cannot be resolved; the message says where netgen looked."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


@dataclass
class ImportRoots:
    """The folders imports may come from: made once per compile from the blueprint the user
    named, $NETGEN_PATH, the library and the folders allowed on the command line."""

    top: Path
    allowed: list[Path] = field(default_factory=list)

    def __post_init__(self):
        self.search = search_path_entries()
        self.library = library.root()
        self.roots = [_real(p) for p in [self.top, *self.search, self.library, *self.allowed]]

    def contains(self, path: Path) -> bool:
        real = _real(path)
        return any(real == root or root in real.parents for root in self.roots)

    def resolve(self, name: str, importer: Path) -> Path:
        """The file an import names, or ImportRefused saying where netgen looked."""
        if not isinstance(name, str) or not name.strip() or "\x00" in name:
            raise ImportRefused("an import names a file: a non-empty path", "e.g. `use: [lib/blocks.yaml]`")
        if name.startswith(LIBRARY_PREFIX):
            target = name[len(LIBRARY_PREFIX):]
            places = [("the library", self.library)]
        else:
            target = name
            places = [("this file's folder", importer.parent)]
            places += [(f"{PATH_ENV} entry", p) for p in self.search] + [("the library", self.library)]
        relative = Path(target)
        if not relative.name or target.endswith(("/", "\\")):
            raise ImportRefused(f"`{_shown(name)}` is not a blueprint: imports name a .yaml or .yml file",
                                "name a blueprint file, e.g. `lib/resnet_blocks.yaml`")
        if relative.suffix not in BLUEPRINT_SUFFIXES:
            relative = relative.with_name(relative.name + ".yaml") if not relative.suffix else relative
        if relative.suffix not in BLUEPRINT_SUFFIXES:
            raise ImportRefused(f"`{_shown(name)}` is not a blueprint: imports end in .yaml or .yml",
                                "name a blueprint file, e.g. `lib/resnet_blocks.yaml`")
        outside, refused = 0, False
        for _, folder in places:
            candidate = folder / relative  # an absolute `relative` stays itself
            if not self.contains(candidate):
                outside += 1
                refused = refused or os.path.lexists(candidate)  # there, but not where imports may come from
                continue
            if candidate.is_file():
                return candidate
        looked = "; ".join(f"{what} {folder}" for what, folder in places)
        if refused or outside == len(places):
            raise ImportRefused(
                f"`{_shown(name)}` lies outside the folders a blueprint may import from (looked in {looked})",
                "imports stay inside the blueprint's folder, NETGEN_PATH and the library; "
                "to allow another folder, pass --allow-path DIR")
        raise ImportRefused(f"cannot find `{_shown(name)}` (looked in {looked})",
                            f"imports are relative to the file that names them, then each {PATH_ENV} entry, "
                            f"then the library (`{LIBRARY_PREFIX}NAME` for the library only)")


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop resolves nowhere
        return Path(os.path.abspath(path))


def _shown(name: str, limit: int = 120) -> str:
    """An import name as it may be shown: printable, and not too long."""
    text = name.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."
