"""Output: DOT text to a file, through graphviz's `dot` when the format needs it.

`.gv` is always written by netgen itself. SVG, PDF and PNG go through the `graphviz` Python
package, which runs the `dot` program; where `dot` is missing the caller gets a
`DotMissing` error carrying the install hint, and can still write the `.gv` text.
"""

from __future__ import annotations

import shutil
from pathlib import Path

FORMATS = ("svg", "pdf", "png", "gv")
INSTALL_HINT = ("graphviz's `dot` program is not installed, so only the .gv source was written; install it with "
                "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
                "`winget install graphviz` (Windows), or paste the .gv into https://dreampuf.github.io/GraphvizOnline")


class DotMissing(RuntimeError):
    """`dot` is not on PATH, so a picture format cannot be produced."""


def format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    fmt = "gv" if fmt == "dot" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"Expected an output file ending in {', '.join('.' + f for f in FORMATS)}; "
                         f"received {str(path)!r}")
    return fmt


def dot_available() -> bool:
    return shutil.which("dot") is not None


def run_dot(source: str, fmt: str) -> bytes:
    """Lay out and draw DOT text; raise DotMissing when graphviz's `dot` is not installed."""
    if fmt == "gv":
        return source.encode("utf-8")
    import graphviz

    if not dot_available():
        raise DotMissing(INSTALL_HINT)
    try:
        return graphviz.Source(source).pipe(format=fmt, engine="dot")
    except graphviz.ExecutableNotFound as exc:
        raise DotMissing(INSTALL_HINT) from exc
    except graphviz.CalledProcessError:
        # dot's ranker sometimes gives up ("trouble in init_rank") on clusters joined by
        # non-constraint edges; the same picture without those hints always lays out
        plain = source.replace(", constraint=false", "").replace(", minlen=0", "")
        return graphviz.Source(plain).pipe(format=fmt, engine="dot")


__all__ = ["FORMATS", "INSTALL_HINT", "DotMissing", "format_of", "dot_available", "run_dot"]
