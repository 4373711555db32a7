"""Resource limits: what one blueprint may make netgen compute, and the compile's clock.

A blueprint is untrusted input (docs/security.md): every loop and value it can cause is
bounded here, so that a few hostile lines end with a located error rather than a hang or
an exhausted machine. The YAML loader's own limits (file size, depth, alias expansion) are
in source.py; the evaluator's are below; the lowering caps nodes and block depth.

The wall-clock budget covers a whole compile (loading, evaluating, lowering): every loop
that can run long calls `check_deadline()`, which raises a located `CompileTimeout` once
the budget is spent. The place reported is the last one the compile noted (`note(span)`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

from .errors import Diagnostic, NetgenError, Span

# the expression evaluator, per `${...}` expression
MAX_EXPR_CHARS = 10_000  # the source text of one expression
MAX_EXPR_STEPS = 200_000  # AST nodes visited, loop iterations and items summed
MAX_LIST_ITEMS = 100_000  # the length of any list, dict or range
MAX_STR_CHARS = 100_000  # the length of any string
MAX_VALUE_WEIGHT = 1_000_000  # items and characters of a value, counted through nesting
MAX_INT_BITS = 256  # any integer: sizes need 64 bits; 256 leaves room and keeps arithmetic instant
MAX_FORMAT_WIDTH = 100  # width and precision in `'%5d' % x`

# the lowering
MAX_NODES = 200_000  # graph nodes of one network
MAX_EDGES = 1_000_000  # their inputs in all; also of a graph written out (Graph.written: a dense block
# is held as a running concat, linear in its layers, but printed with the square of its length)
MAX_BLOCK_DEPTH = 64  # nested block calls

# the receptive-field analysis: the longest period of output positions it follows one by one
# (adaptive pooling between coprime sizes n and m has period m); past it a field keeps its exact
# stride and, where a closed form gives them, its smallest and largest size
MAX_FIELD_PERIOD = 1 << 12

# what the network may make `netgen.load` allocate: parameters + buffers, counted from the shapes
# as each op is added (no tensor is made). The largest library models, RegNetY-128GF (~645 M) and
# ViT-H/14 (~632 M), fit three times over; 2 G float32 parameters are 8 GB before any gradient,
# past which a stranger's blueprint should need the user to say so
DEFAULT_MAX_WEIGHTS = 2_000_000_000
MAX_WEIGHTS_ENV = "NETGEN_MAX_PARAMS"

DEFAULT_TIME_LIMIT = 60.0  # seconds; the largest library model compiles in about 2
TIME_LIMIT_ENV = "NETGEN_TIME_LIMIT"


class CompileTimeout(NetgenError):
    """The compile ran past its wall-clock budget."""


class _Clock:
    deadline: float | None = None
    limit: float = 0.0
    where: Span | None = None
    counter: int = 0


_clock = _Clock()


def time_limit() -> float:
    """The budget in seconds: $NETGEN_TIME_LIMIT, else DEFAULT_TIME_LIMIT."""
    text = os.environ.get(TIME_LIMIT_ENV, "")
    try:
        value = float(text) if text else DEFAULT_TIME_LIMIT
    except ValueError:
        value = DEFAULT_TIME_LIMIT
    return value if value > 0 else DEFAULT_TIME_LIMIT


def max_weights() -> int:
    """The parameter + buffer budget: $NETGEN_MAX_PARAMS (an integer, `_` allowed), else
    DEFAULT_MAX_WEIGHTS; a value that is not a positive integer is ignored, as for the time limit."""
    text = os.environ.get(MAX_WEIGHTS_ENV, "").strip()
    try:
        value = int(text) if text else DEFAULT_MAX_WEIGHTS
    except ValueError:
        value = DEFAULT_MAX_WEIGHTS
    return value if value > 0 else DEFAULT_MAX_WEIGHTS


@contextlib.contextmanager
def compile_budget(seconds: float | None = None, where: Span | None = None) -> Iterator[None]:
    """Run a compile under a wall-clock budget; nested budgets keep the outer deadline."""
    if _clock.deadline is not None:
        yield
        return
    _clock.limit = seconds if seconds is not None else time_limit()
    _clock.deadline = time.monotonic() + _clock.limit
    _clock.where = where
    try:
        yield
    finally:
        _clock.deadline = None
        _clock.where = None


def note(span: Span | None) -> None:
    """Remember where the compile is, for the timeout's location (cheap: one assignment)."""
    if span is not None:
        _clock.where = span


def check_deadline(span: Span | None = None) -> None:
    """Raise CompileTimeout once the budget is spent (a no-op outside `compile_budget`)."""
    if _clock.deadline is not None and time.monotonic() > _clock.deadline:
        where = span or _clock.where
        _clock.deadline = None  # report once; the error unwinds the whole compile
        raise CompileTimeout([Diagnostic(
            "NG013", f"compiling took longer than the {_clock.limit:g} s budget", where, "",
            f"look for a loop or recursion that grows without bound here; a larger budget: {TIME_LIMIT_ENV}=SECONDS")])


def tick() -> None:
    """Check the clock every 1024 calls: for the tightest loops (the evaluator's steps)."""
    _clock.counter += 1
    if not _clock.counter & 1023:
        check_deadline()
