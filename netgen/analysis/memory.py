"""Memory of a training step and of an inference pass, read from what each op says about itself.

Every op states (netgen/ops/*.py) whether its output is a view or in place (`output_alias`),
what autograd keeps for its backward (`saved_for_backward`) and its dtype under autocast
(`output_dtype`). This module only resolves those statements to storages and adds them up; it
never names an op kind. docs/analysis.md explains each figure and how it was checked.

* **Saved activations**: the bytes of every storage autograd keeps after one training forward
  pass, each storage once (a ReLU's output kept by the ReLU and by the next conv counts once; a
  crop keeps its whole source map alive), parameters and buffers excluded. Under autocast
  (`autocast="bfloat16"`/`"float16"`) convs and linear layers run in the low-precision dtype and
  keep low-precision copies of their inputs (when not already in that dtype) and weights.
* **Training plan**: weights + gradients + optimizer state (torch's sizes: SGD none, SGD with
  momentum one buffer per parameter, Adam/AdamW two) + saved activations + the largest
  transient, all float32 except the activations (mixed precision keeps float32 weights).
* **Inference peak**: eval mode, no autograd; each tensor is freed after its last use, in the
  graph's topological order (the order the emitted forward runs); the peak is the largest sum of
  live tensors, the op's output included while its inputs are still alive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import Graph
from ..ops.traits import DTYPE_BYTES
from ..shapes import numel

OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}  # state tensors per parameter
DTYPE_ALIASES = {"fp32": "float32", "float": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}
PARAM_DTYPE = "float32"
DTYPES = ("float32", "bfloat16", "float16")  # what the memory figures can be computed for


def canonical_dtype(dtype: str) -> str:
    name = DTYPE_ALIASES.get(dtype, dtype)
    if name not in DTYPES:
        raise ValueError("Expected a dtype among float32, bfloat16, float16 (or fp32, bf16, fp16); "
                         f"received dtype={dtype!r}")
    return name


def bytes_per_element(dtype: str) -> int:
    return DTYPE_BYTES[canonical_dtype(dtype)]


def autocast_of(dtype: str) -> str | None:
    """The autocast dtype a training run at `dtype` uses: None for float32."""
    name = canonical_dtype(dtype)
    return None if name == "float32" else name


@dataclass
class SavedActivations:
    """What autograd keeps after one training forward pass at one batch size."""

    total: int
    per_node: dict[str, int]  # bytes first kept because of this op (its row's `saved_bytes`)
    dtypes: dict[str, str]  # each node's output dtype in that pass
    storages: dict[str, str] = field(repr=False, default_factory=dict)  # node -> node that allocated it


def _storage_plan(graph: Graph, training: bool, autocast: str | None, batch: int):
    """Per node: its output dtype, the node whose storage it uses, and each storage's bytes."""
    dtype, storage, size = {}, {}, {}
    for node in graph.topological():
        data = graph[node]
        if data["kind"] == "output":
            continue
        if data["kind"] == "input":
            dtype[node], storage[node] = "float32", node
            size[node] = numel(data["shape"]) * batch * DTYPE_BYTES["float32"]
            continue
        op, ins = data["op"], graph.inputs_of(node)
        dtype[node] = op.output_dtype([dtype[i] for i in ins], autocast)
        alias = op.output_alias(data["in_shapes"], training)
        if alias is None:
            storage[node] = node
            size[node] = numel(data["shape"]) * batch * DTYPE_BYTES[dtype[node]]
        else:
            storage[node] = storage[ins[alias]]
    return dtype, storage, size


def kept_by(op, in_shapes, out_shape, in_dtypes: list[str], in_grad: list[bool], batch: int,
            autocast: str | None) -> list[tuple[int | str, int]]:
    """What one op's backward keeps, as (which, bytes): `which` is an input's index (its storage,
    whatever size that is: the caller knows), "output", or "new" (a tensor of that many bytes)."""
    compute = op.output_dtype(in_dtypes, autocast)
    kept: list[tuple[int | str, int]] = []
    for saved in op.saved_for_backward(in_shapes, out_shape):
        if saved.if_grad is not None and not any(in_grad[i] for i in saved.if_grad):
            continue
        if saved.what == "input":
            if saved.cast and in_dtypes[saved.index] != compute:  # autocast's copy in the low dtype
                kept.append(("new", numel(in_shapes[saved.index]) * batch * DTYPE_BYTES[compute]))
            else:
                kept.append((saved.index, 0))
        elif saved.what == "output":
            kept.append(("output", 0))
        elif saved.what == "weight":
            if compute != PARAM_DTYPE:  # autocast's low-precision copy of a float32 parameter
                kept.append(("new", numel(saved.shape) * DTYPE_BYTES[compute]))
        else:
            elements = numel(saved.shape) * (batch if saved.batched else 1)
            kept.append(("new", elements * DTYPE_BYTES[compute if saved.dtype == "compute" else saved.dtype]))
    return kept


def saved_activations(graph: Graph, batch: int = 1, autocast: str | None = None) -> SavedActivations:
    """Bytes autograd keeps for backward, each storage once (module docstring)."""
    dtype, storage, size = _storage_plan(graph, True, autocast, batch)
    grad: dict[str, bool] = {}
    kept: dict[object, int] = {}
    per_node: dict[str, int] = {}
    for node in graph.topological():
        data = graph[node]
        if data["kind"] != "op":
            grad[node] = False
            continue
        op, ins, in_shapes, shape = data["op"], graph.inputs_of(node), data["in_shapes"], data["shape"]
        grad[node] = any(grad[i] for i in ins) or op.param_count(in_shapes, shape) > 0
        if not grad[node]:
            continue  # no input needs a gradient and there is nothing to train: no backward
        before = sum(kept.values())
        entries = kept_by(op, in_shapes, shape, [dtype[i] for i in ins], [grad[i] for i in ins], batch, autocast)
        for index, (which, nbytes) in enumerate(entries):
            if which == "new":
                kept[(node, index)] = nbytes
            else:
                key = storage[node] if which == "output" else storage[ins[which]]
                kept[key] = size[key]
        per_node[node] = sum(kept.values()) - before
    return SavedActivations(sum(kept.values()), per_node, dtype, storage)


def largest_transient(graph: Graph, batch: int, dtypes: dict[str, str]) -> int:
    """The largest extra memory one op needs while it runs in the backward pass: the gradient of
    its output and those of its inputs, live together (workspaces of the math libraries are not
    counted; docs/analysis.md)."""
    largest = 0
    for node, data in graph.ops():
        ins = graph.inputs_of(node)
        grads = numel(data["shape"]) * DTYPE_BYTES[dtypes[node]]
        grads += sum(numel(s) * DTYPE_BYTES[dtypes[i]] for i, s in zip(ins, data["in_shapes"], strict=True))
        largest = max(largest, grads * batch)
    return largest


@dataclass(frozen=True)
class TrainingPlan:
    """The parts of one training step's memory, in bytes (module docstring)."""

    weights: int
    buffers: int
    gradients: int
    optimizer_state: int
    saved_activations: int
    transient: int
    optimizer: str
    batch: int
    dtype: str

    @property
    def total(self) -> int:
        return (self.weights + self.buffers + self.gradients + self.optimizer_state + self.saved_activations
                + self.transient)

    def as_json(self) -> dict:
        return {"batch": self.batch, "dtype": self.dtype, "optimizer": self.optimizer, "weights": self.weights,
                "buffers": self.buffers, "gradients": self.gradients, "optimizer_state": self.optimizer_state,
                "saved_activations": self.saved_activations, "transient": self.transient, "total": self.total}


def training_plan(graph: Graph, params: int, buffers: int, batch: int = 1, dtype: str = "float32",
                  optimizer: str = "adamw") -> TrainingPlan:
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"Expected an optimizer in {sorted(OPTIMIZERS)}; received optimizer={optimizer!r}")
    saved = saved_activations(graph, batch, autocast_of(dtype))
    weights = params * DTYPE_BYTES[PARAM_DTYPE]
    largest_param = max((data["op"].param_count(data["in_shapes"], data["shape"]) for _, data in graph.ops()),
                        default=0)
    # the step itself: torch's for-loop Adam makes a temporary of one parameter's size at a time
    step = largest_param * DTYPE_BYTES[PARAM_DTYPE] if OPTIMIZERS[optimizer] else 0
    transient = max(largest_transient(graph, batch, saved.dtypes), step)
    return TrainingPlan(weights, buffers * DTYPE_BYTES[PARAM_DTYPE], weights, OPTIMIZERS[optimizer] * weights,
                        saved.total, transient, optimizer, batch, canonical_dtype(dtype))


def largest_batch(graph: Graph, params: int, buffers: int, budget: int, dtype: str = "float32",
                  optimizer: str = "adamw", limit: int = 1 << 20) -> int:
    """The largest batch whose training plan fits in `budget` bytes (0 if not even batch 1)."""
    def fits(batch: int) -> bool:
        return training_plan(graph, params, buffers, batch, dtype, optimizer).total <= budget

    if not fits(1):
        return 0
    # every part of the plan is affine in the batch, so two plans give the slope exactly
    one, two = (training_plan(graph, params, buffers, b, dtype, optimizer).total for b in (1, 2))
    slope = two - one
    if slope <= 0:
        return limit
    guess = min(limit, 1 + (budget - one) // slope)
    while guess > 1 and not fits(guess):  # max() of two affine parts is not affine: step down
        guess -= 1
    while guess < limit and fits(guess + 1):
        guess += 1
    return guess


def inference_peak(graph: Graph, batch: int = 1, dtype: str = "float32") -> int:
    """The largest sum of live activation bytes in an eval forward pass (module docstring)."""
    dtypes, storage, size = _storage_plan(graph, False, None, batch)
    element = bytes_per_element(dtype)
    scale = {s: size[s] // DTYPE_BYTES[dtypes[s]] * element for s in size}  # every tensor at `dtype`
    order = [n for n in graph.topological() if graph[n]["kind"] != "output"]
    position = {n: i for i, n in enumerate(order)}
    last_use: dict[str, int] = {}
    for node in order:
        users = [u for u in graph.users_of(node) if graph[u]["kind"] == "op" and not graph[u].get("training_only")]
        end = max((position[u] for u in users), default=position[node])
        if any(graph[u]["kind"] == "output" for u in graph.users_of(node)):
            end = len(order)  # returned to the caller
        key = storage[node]
        last_use[key] = max(last_use.get(key, 0), end)
    live, peak = 0, 0
    for step, node in enumerate(order):
        if graph[node].get("training_only"):
            continue
        if storage[node] == node:
            live += scale[node]
        peak = max(peak, live)
        for key in [k for k, end in last_use.items() if end == step]:
            live -= scale[key]
            del last_use[key]
    return peak
