"""The summary of one compiled graph: its per-layer rows and the totals a lecture asks for.

Totals follow the conventions of docs/analysis.md: `params` are trainable parameters (what
`sum(p.numel() for p in model.parameters())` counts) and `buffers` the non-trainable state in
the state_dict, of which `int64_buffers` stay 8-byte integers whatever the dtype (parameter
memory: (params + float buffers) × the dtype's bytes + int64 buffers × 8); `macs` are
multiply-accumulates, bias excluded (torchvision's "GFLOPS"): conv,
linear and attention's projections (an activation times a weight) plus `product_macs`, the
products of two activations (attention's QKᵀ and AV); `flops` = 2 x macs (what
`torch.utils.flop_counter` reports); `other_flops` is the element-wise work of norms,
activations, pools and merges, never added to `flops`. Compute and activation totals describe
one eval-mode forward pass: ops that run only in training (auxiliary heads) are left out of
them and reported as `training_only_macs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..graph import Graph
from ..ops.traits import Buffers
from ..shapes import numel
from .depth import rows_at_depth
from .layers import Row, layer_rows
from .memory import (
    SavedActivations,
    TrainingPlan,
    autocast_of,
    bytes_per_element,
    canonical_dtype,
    inference_peak,
    largest_batch,
    saved_activations,
    training_plan,
)

SCHEMA = "netgen.summary/2"  # 2: memory.training is the training plan, memory.inference the peak


@dataclass
class Summary:
    name: str
    source: str
    inputs: list[tuple[int, ...]]
    outputs: list[tuple[int, ...]]
    rows: list[Row]  # every op, one row each
    batch: int = 1
    dtype: str = "float32"
    optimizer: str = "adam"
    blueprint_params: dict = field(default_factory=dict)
    graph: Graph | None = field(default=None, repr=False)
    saved: SavedActivations | None = field(default=None, repr=False, compare=False)  # for the training plan

    # -- totals ------------------------------------------------------------------------
    @property
    def built_from(self) -> Graph:
        """The graph this summary was computed from (what the memory plans walk again)."""
        if self.graph is None:
            raise ValueError("this summary was made without its graph")
        return self.graph

    @property
    def element_bytes(self) -> int:
        return bytes_per_element(self.dtype)

    def _eval_rows(self) -> list[Row]:
        return [r for r in self.rows if not r.training_only]

    @property
    def params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def buffers(self) -> int:
        return sum(r.buffers for r in self.rows)

    @property
    def int64_buffers(self) -> int:
        """The part of `buffers` kept as int64 whatever the dtype (num_batches_tracked, indices)."""
        return sum(r.int64_buffers for r in self.rows)

    @property
    def buffer_classes(self) -> Buffers:
        return Buffers(floating=self.buffers - self.int64_buffers, int64=self.int64_buffers)

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self._eval_rows())

    @property
    def product_macs(self) -> int:
        """The part of `macs` that multiplies two activations (attention's QKᵀ and AV)."""
        return sum(r.product_macs for r in self._eval_rows())

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def other_flops(self) -> int:
        return sum(r.other_flops for r in self._eval_rows())

    @property
    def training_only_macs(self) -> int:
        return sum(r.macs for r in self.rows if r.training_only)

    @property
    def param_bytes(self) -> int:
        """Weights and buffers after `model.to(dtype)`: it casts the float ones, not the int64."""
        return self.params * self.element_bytes + self.buffer_classes.nbytes(self.element_bytes)

    @property
    def input_bytes(self) -> int:
        return sum(numel(s) for s in self.inputs) * self.batch * self.element_bytes

    @property
    def activation_bytes(self) -> int:
        """Input + every new tensor of one forward pass (memory.py states the convention)."""
        return self.input_bytes + sum(r.activation_bytes for r in self._eval_rows())

    @cached_property
    def training(self) -> TrainingPlan:
        """One training step at `batch`: float32 weights, gradients and optimizer state, the
        activations autograd keeps (at `dtype`: autocast when not float32), the largest transient.
        Computed once (as the inference peak): the JSON asks for both several times."""
        return training_plan(self.built_from, self.params, self.buffer_classes, self.batch, self.dtype, self.optimizer,
                             self.saved)

    def with_batch(self, batch: int) -> Summary:
        return summarize(self.built_from, batch, self.dtype, self.optimizer)

    def largest_batch(self, budget: int) -> int:
        """The largest batch whose training plan fits in `budget` bytes."""
        return largest_batch(self.built_from, self.params, self.buffer_classes, budget, self.dtype, self.optimizer)

    @cached_property
    def inference_peak_bytes(self) -> int:
        """Peak of live activations in an eval forward pass, tensors freed after their last use."""
        return inference_peak(self.built_from, self.batch, self.dtype)

    # -- views -------------------------------------------------------------------------
    def rows_at_depth(self, depth: int | None) -> list[Row]:
        return rows_at_depth(self.rows, depth, self.graph)

    def totals(self) -> dict:
        return {
            "params": self.params, "trainable_params": self.params, "non_trainable_params": self.buffers,
            "buffers": self.buffers, "int64_buffers": self.int64_buffers, "macs": self.macs,
            "product_macs": self.product_macs, "flops": self.flops, "other_flops": self.other_flops,
            "training_only_macs": self.training_only_macs, "param_bytes": self.param_bytes,
            "input_bytes": self.input_bytes, "activation_bytes": self.activation_bytes,
            "training_bytes": self.training.total, "inference_peak_bytes": self.inference_peak_bytes,
        }

    def as_json(self, depth: int | None = None) -> dict:
        """The `--json` object; keys documented in docs/analysis.md and kept stable."""
        first_in = list(self.inputs[0]) if self.inputs else []
        first_out = list(self.outputs[0]) if self.outputs else []
        return {
            "schema": SCHEMA, "name": self.name, "source": self.source, "blueprint_params": self.blueprint_params,
            "input": first_in, "output": first_out,
            "inputs": [list(s) for s in self.inputs], "outputs": [list(s) for s in self.outputs],
            "batch": self.batch, "dtype": self.dtype, "bytes_per_element": self.element_bytes,
            "depth": depth or None,
            **self.totals(),
            "memory": {"params": self.param_bytes, "input": self.input_bytes,
                       "activations": self.activation_bytes,
                       "inference": {"peak_activations": self.inference_peak_bytes, "weights": self.param_bytes,
                                     "peak": self.inference_peak_bytes + self.param_bytes},
                       "training": self.training.as_json()},
            "layers": [r.as_json() for r in self.rows_at_depth(depth)],
        }


def summarize(graph: Graph, batch: int = 1, dtype: str = "float32", optimizer: str = "adam") -> Summary:
    """Per-layer rows and totals of a compiled graph (no torch involved)."""
    if batch <= 0:
        raise ValueError(f"Expected a strictly positive batch. Received batch={batch}")
    dtype = canonical_dtype(dtype)
    element = bytes_per_element(dtype)
    outputs = [o for o in graph.outputs if not graph[o].training_only] or list(graph.outputs)
    saved = saved_activations(graph, batch, autocast_of(dtype))
    return Summary(
        name=graph.name, source=str(graph.meta.get("source", "")),
        inputs=[tuple(graph.shape_of(i)) for i in graph.inputs],
        outputs=[tuple(graph.shape_of(o)) for o in outputs],
        rows=layer_rows(graph, batch, element, saved.per_node),
        batch=batch, dtype=dtype, optimizer=optimizer,
        blueprint_params=dict(graph.meta.get("params", {})), graph=graph, saved=saved,
    )
