"""Output: DOT text to a file, through graphviz's `dot` when the format needs it.

`.gv` is always written by netgen itself. SVG, PDF and PNG come from graphviz's `dot` program,
run as a subprocess under a time bound; where `dot` is missing the caller gets a `DotMissing`
error carrying the install hint, and can still write the `.gv` text. What dot says when it
fails is summarised in one line (`DotFailed`), never passed through.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

FORMATS = ("svg", "pdf", "png", "gv")
INSTALL_HINT = ("graphviz's `dot` program is not installed, so only the .gv source was written; install it with "
                "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
                "`winget install graphviz` (Windows), or paste the .gv into https://dreampuf.github.io/GraphvizOnline")


DOT_TIMEOUT_S = 120.0  # dot on a slide-sized picture takes well under a second; more means a poster


class DotMissing(RuntimeError):
    """`dot` is not on PATH, so a picture format cannot be produced."""


class DotFailed(RuntimeError):
    """`dot` gave up or ran past its time bound; the message is one line."""


def format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    fmt = "gv" if fmt == "dot" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"Expected an output file ending in {', '.join('.' + f for f in FORMATS)}; "
                         f"received {str(path)!r}")
    return fmt


def dot_available() -> bool:
    return shutil.which("dot") is not None


def summarise(stderr: str) -> str:
    """dot's complaints in one line: the first error (or first line), and how many more lines it wrote."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "no message"
    first = next((line for line in lines if "error" in line.lower()), lines[0])
    first = first if len(first) <= 160 else first[:157] + "..."
    return first + (f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else "")


def _dot(source: str, fmt: str, timeout: float) -> bytes:
    try:
        done = subprocess.run(["dot", f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise DotMissing(INSTALL_HINT) from exc
    except subprocess.TimeoutExpired:
        raise DotFailed(f"graphviz's dot did not finish within {timeout:.0f} s; the picture is too large for a "
                        "slide (try --detail blocks, --expand PATH, or `netgen slides`)") from None
    if done.returncode != 0:
        raise DotFailed(f"graphviz's dot failed: {summarise(done.stderr.decode('utf-8', 'replace'))}")
    return done.stdout


def run_dot(source: str, fmt: str, timeout: float = DOT_TIMEOUT_S) -> bytes:
    """Lay out and draw DOT text within `timeout` seconds; raise DotMissing when graphviz's `dot`
    is not installed, DotFailed (one line) when it gives up or runs out of time."""
    if fmt == "gv":
        return source.encode("utf-8")
    if not dot_available():
        raise DotMissing(INSTALL_HINT)
    start = time.monotonic()
    try:
        return _dot(source, fmt, timeout)
    except DotFailed as exc:
        if "did not finish" in str(exc):
            raise
        # dot's ranker sometimes gives up ("trouble in init_rank") on clusters joined by
        # non-constraint edges; the same picture without those hints always lays out
        plain = source.replace(", constraint=false", "").replace(", minlen=0", "")
        left = timeout - (time.monotonic() - start)
        if plain == source or left <= 1:
            raise
        return _dot(plain, fmt, left)


__all__ = ["FORMATS", "INSTALL_HINT", "DotMissing", "DotFailed", "DOT_TIMEOUT_S", "format_of", "dot_available",
           "run_dot", "summarise"]
