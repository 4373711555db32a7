"""Lowering: a blueprint's items, blocks, repeats and wiring become a DAG of primitive ops.

The lowering walks the network in order, carrying the current tensor (a node id), and
creates one graph node per primitive op. Shape inference runs as each node is created (the
op's own shape rule), because later choices depend on it: `shortcut: auto` projects only
when the body changes the shape, and expressions may read `in_channels` / `in_shape`.

Errors never stop the walk: each is recorded with its YAML position and the walk goes on
with the shape unknown, so one run reports every mistake it can find.

Where each part of the language lives:

    lowerer.py     the Lowerer: state, diagnostics, expressions, the walk over lists and items
    items.py       item syntax: `- relu`, `- conv: {...}`, `- $block: {...}`, name/from keys
    repeat.py      `repeat` and `if`, which expand into items
    naming.py      module names (nn.Sequential numbering) and the per-scope name tables
    references.py  `from:` resolution
    registry.py    the form registry: one handler per composite form
    seq.py, residual.py, parallel.py, dense.py   the composite forms
    blocks.py      block calls and their arguments (also a registered form)
    footprint.py   what a block call makes, per (block, arguments, input shape)
    counter.py     the dry run that counts a call before it is built (the caps, early)
    ops.py         op nodes: params validated, arity checked, shape rule applied
    outputs.py     `outputs:`, training-only marking, unused-output check
"""

from __future__ import annotations

from ..blueprint import Blueprint
from ..errors import NetgenError
from ..graph import Graph
from .lowerer import Lowerer


def lower(bp: Blueprint) -> Graph:
    """Lower a loaded blueprint to an annotated graph; raise NetgenError with every mistake."""
    return Lowerer(bp).run()


__all__ = ["lower", "Lowerer", "NetgenError"]
