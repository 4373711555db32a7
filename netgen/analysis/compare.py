"""Comparison of two summaries: "what did my change cost", in totals and per stage.

Stages are the rows summed to one path level (the top-level scopes: `features`,
`layer3`, `classifier`, and top-level ops such as `conv1`), matched by path. A stage
present on one side only is shown against nothing. Differences are B - A.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .layers import Row
from .summary import Summary

# (key, label, kind) of each compared total; kind picks the unit when printed
TOTALS = [
    ("params", "params (trainable)", "count"),
    ("buffers", "buffers (non-trainable)", "count"),
    ("macs", "MACs", "count"),
    ("flops", "FLOPs (2×MACs)", "count"),
    ("other_flops", "other FLOPs (norm/act/pool/merge)", "count"),
    ("param_bytes", "parameter memory", "bytes"),
    ("activation_bytes", "activation memory (forward)", "bytes"),
    ("training_bytes", "training memory (estimate)", "bytes"),
]
PRODUCTS = ("product_macs", "  of which act×act", "count")  # shown where either side multiplies activations


@dataclass
class StageDiff:
    path: str
    a: Row | None
    b: Row | None

    def value(self, side: str, key: str) -> int:
        row = self.a if side == "a" else self.b
        return 0 if row is None else getattr(row, key)

    def delta(self, key: str) -> int:
        return self.value("b", key) - self.value("a", key)

    def as_json(self) -> dict:
        out: dict[str, Any] = {"path": self.path}
        for side in ("a", "b"):
            row = getattr(self, side)
            out[side] = None if row is None else {
                "op": row.op, "output_shape": list(row.output_shape), "params": row.params,
                "macs": row.macs, "activation_bytes": row.activation_bytes}
        out["delta"] = {k: self.delta(k) for k in ("params", "macs", "activation_bytes")}
        return out


def align(rows_a: list[Row], rows_b: list[Row]) -> list[StageDiff]:
    """Stages of both sides matched by path, in A's order with B-only stages slotted in."""
    by_a = {r.path: r for r in rows_a}
    by_b = {r.path: r for r in rows_b}
    order = [r.path for r in rows_a]
    last = -1
    for r in rows_b:
        if r.path in by_a:
            last = order.index(r.path)
        else:
            last += 1
            order.insert(last, r.path)
    return [StageDiff(p, by_a.get(p), by_b.get(p)) for p in order]


@dataclass
class Comparison:
    a: Summary
    b: Summary
    label_a: str
    label_b: str
    depth: int = 1

    def totals(self) -> list[tuple[str, str, str, int, int]]:
        ta, tb = self.a.totals(), self.b.totals()
        keys = TOTALS
        if ta["product_macs"] or tb["product_macs"]:  # attention on either side: how its products moved
            at = next(i for i, t in enumerate(TOTALS) if t[0] == "macs") + 1
            keys = [*TOTALS[:at], PRODUCTS, *TOTALS[at:]]
        return [(key, label, kind, ta[key], tb[key]) for key, label, kind in keys]

    def stages(self) -> list[StageDiff]:
        return align(self.a.rows_at_depth(self.depth), self.b.rows_at_depth(self.depth))

    def as_json(self) -> dict:
        return {
            "schema": "netgen.compare/1",
            "a": {"label": self.label_a, "name": self.a.name, "input": list(self.a.inputs[0]) if self.a.inputs else [],
                  "output": list(self.a.outputs[0]) if self.a.outputs else []},
            "b": {"label": self.label_b, "name": self.b.name, "input": list(self.b.inputs[0]) if self.b.inputs else [],
                  "output": list(self.b.outputs[0]) if self.b.outputs else []},
            "batch": self.a.batch, "dtype": self.a.dtype, "depth": self.depth,
            "totals": {key: {"a": va, "b": vb, "delta": vb - va} for key, _, _, va, vb in self.totals()},
            "stages": [s.as_json() for s in self.stages()],
        }


def compare(a: Summary, b: Summary, label_a: str = "A", label_b: str = "B", depth: int = 1) -> Comparison:
    return Comparison(a, b, label_a, label_b, depth)
