"""Per-layer statistics: one row per op node of the graph, read from the ops' cost methods.

A row carries what the op reports about itself (parameters, buffers, MACs, other FLOPs,
window) and what the analysis derives (output bytes at a batch and dtype, the receptive
field). Rows are plain data; depth, totals and formats only read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..graph import Graph
from ..shapes import numel
from .receptive import Field, receptive_fields


@dataclass
class Row:
    """One line of a summary: an op, or a block of ops summed together (`count` > 1)."""

    path: str
    op: str
    output_shape: tuple[int, ...]
    params: int = 0
    buffers: int = 0
    int64_buffers: int = 0  # the part of `buffers` stored as int64 whatever the dtype (ops/traits.py Buffers)
    macs: int = 0
    product_macs: int = 0  # the part of `macs` between two activations (attention's QKᵀ and AV)
    other_flops: int = 0
    output_bytes: int = 0  # the output tensor at batch x dtype
    activation_bytes: int = 0  # memory newly allocated: 0 for in-place ops and views
    saved_bytes: int = 0  # training: bytes autograd first keeps because of this op (memory.py)
    kernel: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
    dilation: tuple[int, int] | None = None
    rf: Field | None = None
    depth: int = 1
    count: int = 1
    training_only: bool = False
    inserted: bool = False
    transposed: bool = False  # a transposed conv: `stride` upsamples (shown as ↑s)
    nodes: list[str] = field(default_factory=list, repr=False)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def in_place(self) -> bool:
        """The output shares its input's memory (in-place op, view, eval-mode regularizer)."""
        return self.count == 1 and self.output_bytes > 0 and self.activation_bytes == 0

    def window_text(self) -> str:
        if self.kernel is None or self.stride is None:
            return ""
        k, s = self.kernel, self.stride
        text = f"{k[0]}×{k[1]}/" + ("↑" if self.transposed else "") + (f"{s[0]}" if s[0] == s[1] else f"{s[0]}×{s[1]}")
        d = self.dilation
        if d and d != (1, 1):
            text += f" d{d[0]}" if d[0] == d[1] else f" d{d[0]}×{d[1]}"
        return text

    def as_json(self) -> dict:
        return {
            "path": self.path, "op": self.op, "output_shape": list(self.output_shape),
            "params": self.params, "buffers": self.buffers,
            "int64_buffers": self.int64_buffers, "macs": self.macs, "product_macs": self.product_macs,
            "flops": self.flops,
            "other_flops": self.other_flops, "output_bytes": self.output_bytes,
            "activation_bytes": self.activation_bytes, "saved_bytes": self.saved_bytes,
            "kernel": list(self.kernel) if self.kernel else None,
            "stride": list(self.stride) if self.stride else None,
            "dilation": list(self.dilation) if self.dilation else None,
            "receptive_field": self.rf.as_json() if self.rf else None,
            "depth": self.depth, "ops": self.count, "training_only": self.training_only,
            "inserted": self.inserted, "transposed": self.transposed,
        }

    def copy(self, **changes) -> Row:
        return replace(self, **changes)


def layer_rows(graph: Graph, batch: int = 1, element_bytes: int = 4, saved: dict[str, int] | None = None) -> list[Row]:
    """One `Row` per op node, in the graph's deterministic topological order; `saved` gives each
    op's bytes kept for backward (memory.saved_activations)."""
    fields = receptive_fields(graph)
    saved = saved or {}
    rows = []
    for node, data in graph.ops():
        op, ins, out = data.op, data.in_shapes, data.shape
        window = op.table_kernel()
        transposed = window is not None and op.window() is None  # its stride upsamples
        out_bytes = numel(out) * batch * element_bytes
        buffers = op.buffers(ins, out)
        rows.append(Row(
            path=".".join(data.path), op=op.kind, output_shape=tuple(out),
            params=op.param_count(ins, out), buffers=buffers.count, int64_buffers=buffers.int64,
            macs=op.macs(ins, out), product_macs=op.product_macs(ins, out), other_flops=op.other_flops(ins, out),
            output_bytes=out_bytes, activation_bytes=out_bytes if op.output_alias(ins, False) is None else 0,
            saved_bytes=saved.get(node, 0),
            kernel=window[0] if window else None, stride=window[1] if window else None,
            dilation=window[2] if window else None, rf=fields[node], depth=len(data.path),
            training_only=data.training_only, inserted=data.inserted,
            transposed=transposed, nodes=[node],
        ))
    return rows
