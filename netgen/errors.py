"""Diagnostics: every user mistake becomes a located record, collected and reported together.

A `Diagnostic` carries the file, line and column of the offending YAML, the node's path in
the blueprint, what is wrong and how to fix it (mypy/ruff style). Passes append to a
`Diagnostics` collector instead of raising, so that one run reports every error it can find;
`NetgenError` carries the whole list to the CLI, which prints them and exits with code 2.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Span:
    """A 1-based position in a blueprint file."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One located error: `file:line:col: error[CODE]: message (at path)` plus a hint."""

    code: str
    message: str
    span: Span | None = None
    path: str = ""
    hint: str = ""
    more: int = 0  # the same mistake at this many other paths (a block used several times)
    note: str = ""  # where the block holding the mistake was called from

    def format(self, snippet: bool = True) -> str:
        where = f"{self.span}: " if self.span else ""
        also = f", and {self.more} more place{'s' if self.more > 1 else ''}" if self.more else ""
        at = f" (at {self.path}{also})" if self.path else ""
        lines = [f"{where}error[{self.code}]: {self.message}{at}"]
        if snippet and self.span:
            source_line = _source_line(self.span)
            if source_line is not None:
                gutter = f"{self.span.line:>4} | "
                lines.append(gutter + source_line)
                lines.append(" " * (len(gutter) + self.span.col - 1) + "^")
        if self.note:
            lines.append(f"  note: {self.note}")
        if self.hint:
            lines.append(f"  help: {self.hint}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.span.file if self.span else None,
            "line": self.span.line if self.span else None,
            "col": self.span.col if self.span else None,
            "path": self.path,
            "hint": self.hint,
            "more": self.more,
            "note": self.note,
        }


def _source_line(span: Span) -> str | None:
    """The line a span points at, for the snippet: only from a blueprint file (.yaml/.yml),
    and only when it is printable text, so that an error never shows another file."""
    if not span.file.endswith((".yaml", ".yml")):
        return None
    try:  # keyed by the file's identity now: an edited or another same-named file is read afresh
        st = os.stat(span.file)
    except OSError:
        return None
    lines = _lines(os.path.abspath(span.file), st.st_mtime_ns, st.st_size)
    if not 0 < span.line <= len(lines):
        return None
    line = lines[span.line - 1]
    return line if line.isprintable() and len(line) <= 400 else None


@functools.lru_cache(maxsize=8)
def _lines(file: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """A blueprint's lines, read once for all its snippets (a blueprint is at most 1 MiB). The
    modification time and size are part of the key so that a long-lived process (an editor
    integration, the API, the test corpus) never shows a snippet of a file's earlier text."""
    try:
        with open(file, encoding="utf-8") as f:
            return tuple(f.read(1 << 20).split("\n"))
    except (OSError, ValueError):  # unreadable, or not UTF-8
        return ()


# Error codes, one registry (mypy's errorcodes.py): the docs list them from here.
CODES = {
    "NG001": "YAML syntax error or unreadable file",
    "NG002": "blueprint schema: unknown, missing or mistyped top-level field",
    "NG003": "expression error (syntax, unknown name, disallowed construct, evaluation)",
    "NG004": "unknown op or block",
    "NG005": "unknown parameter",
    "NG006": "missing required parameter",
    "NG007": "parameter value of the wrong type or out of range",
    "NG008": "unknown reference in `from`",
    "NG009": "shape error: a size shrinks to zero or below, or an op rejects its input",
    "NG010": "merge of incompatible shapes",
    "NG011": "two modules with one name",
    "NG012": "a node whose output nobody uses",
    "NG013": "cycle or recursion too deep",
    "NG014": "import error (`use:`)",
    "NG015": "malformed structure (repeat, residual, parallel, if, seq)",
    "NG016": "output: `-o` names the wrong kind of path, or the files cannot be written",
    "NG017": "plugin refused (not allowed), malformed, missing or failing to import (`plugins:`)",
    "NG018": "a diagram refused: too large for the slides at that level of detail, or an option it lacks",
}


@dataclass
class Diagnostics:
    """Collects diagnostics during a pass; `raise_if_any` ends the run with all of them."""

    items: list[Diagnostic] = field(default_factory=list)
    # (code, message, span) -> index in items: finding a repeat stays O(1) with many errors
    _index: dict = field(default_factory=dict, repr=False)

    def error(self, code: str, message: str, span: Span | None = None, path: str = "", hint: str = "",
              note: str = "") -> None:
        """Record a mistake; the same mistake at the same place reached through another
        path (a block called many times) is counted, not repeated."""
        for position in range(len(self._index), len(self.items)):  # items added directly
            known = self.items[position]
            self._index.setdefault((known.code, known.message, known.span), position)
        key = (code, message, span)
        index = self._index.get(key) if span is not None else None
        if index is not None:
            known = self.items[index]
            if known.path != path:
                self.items[index] = replace(known, more=known.more + 1)
            return
        self._index[key] = len(self.items)
        self.items.append(Diagnostic(code, message, span, path, hint, note=note))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise NetgenError(list(self.items))


class NetgenError(Exception):
    """A user error (or several): the CLI prints them and exits with code 2."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(
            diagnostics,
            key=lambda d: (d.span.file, d.span.line, d.span.col) if d.span else ("", 0, 0),
        )
        super().__init__(self.format(snippet=False))

    def format(self, snippet: bool = True) -> str:
        shown = self.diagnostics[:MAX_SHOWN]
        body = "\n".join(d.format(snippet) for d in shown)
        count = len(self.diagnostics)
        rest = f" (the first {MAX_SHOWN} are shown)" if count > MAX_SHOWN else ""
        return f"{body}\nFound {count} error{'s' if count != 1 else ''}{rest}."

    def to_json(self) -> str:
        return json.dumps({"errors": [d.to_json() for d in self.diagnostics[:MAX_SHOWN_JSON]],
                           "count": len(self.diagnostics)}, indent=2)


# a hostile blueprint can hold tens of thousands of mistakes; what is printed stays readable
MAX_SHOWN = 200
MAX_SHOWN_JSON = 10_000


def did_you_mean(name: str, candidates) -> str:
    """A hint naming the closest known names, or listing what is known."""
    candidates = sorted(set(candidates))
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
    if len(candidates) <= 12:
        return "known: " + ", ".join(candidates) if candidates else ""
    return ""
