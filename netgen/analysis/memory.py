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
  transient, all float32 except the activations (mixed precision keeps float32 weights); the
  buffers float32 too, but int64 ones (BatchNorm's num_batches_tracked) at 8 bytes.
* **Inference peak**: eval mode, no autograd; each tensor is freed after its last use, in the
  graph's topological order (the order the emitted forward runs); the peak is the largest sum of
  live tensors, the op's output included while its inputs are still alive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..graph import Graph, OpNode
from ..ops.traits import DTYPE_BYTES, Buffers
from ..shapes import Shape, numel

if TYPE_CHECKING:
    from ..ops.base import Op

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
    # bytes autograd lets go after this op's backward: storages no op before it keeps
    released: dict[str, int] = field(repr=False, default_factory=dict)
    needs_grad: dict[str, bool] = field(repr=False, default_factory=dict)  # its output has a gradient


def written_users(graph: Graph) -> dict[str, list[str]]:
    """Each node's users as the network is written and run (`Graph.running`): a running concat
    reads its first input's parts rather than that concat (the emitted `torch.cat(features, 1)`
    keeps every part alive until the block's last concat), so a part counts as used by the
    concat that first lists it and by the chain's last one, and a running concat's predecessor
    only by its other users. What a lifetime needs (the last use, and whether a frame uses it
    twice) is kept, in linear time; a graph without running concats gets its own users."""
    users = {node: graph.users_of(node) for node in graph.nx}
    if not graph.running:
        return users
    continued = {graph.inputs_of(r)[0]: r for r in graph.running}  # concat -> the concat extending it
    last: dict[str, str] = {}
    for node in reversed(graph.topological()):
        if node in continued:
            last[node] = last.get(continued[node], continued[node])
    for node, direct in users.items():
        kept = [u for u in direct if not (u in graph.running and continued.get(node) == u)]
        kept += [last[u] for u in kept if u in last and last[u] not in kept]
        users[node] = kept
    return users


def _storage_plan(graph: Graph, training: bool, autocast: str | None, batch: int):
    """Per node: its output dtype, the node whose storage it uses, and each storage's bytes."""
    dtype, storage, size = {}, {}, {}
    for node in graph.topological():
        data = graph[node]
        if data.kind == "output":
            continue
        if not isinstance(data, OpNode):  # a graph input
            dtype[node], storage[node] = "float32", node
            size[node] = numel(data.shape) * batch * DTYPE_BYTES["float32"]
            continue
        op, ins = data.op, graph.inputs_of(node)
        dtype[node] = op.output_dtype([dtype[i] for i in ins], autocast)
        alias = op.output_alias(data.in_shapes, training)
        if alias is None:
            storage[node] = node
            size[node] = numel(data.shape) * batch * DTYPE_BYTES[dtype[node]]
        else:
            storage[node] = storage[ins[alias]]
    return dtype, storage, size


def kept_by(op: Op, in_shapes: list[Shape], out_shape: Shape, in_dtypes: list[str], in_grad: list[bool], batch: int,
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
        elif saved.what == "cast":
            if compute != PARAM_DTYPE:  # autocast's low-precision copy of a float32 intermediate
                kept.append(("new", numel(saved.shape) * batch * DTYPE_BYTES[compute]))
        elif saved.what == "weight":
            if compute != PARAM_DTYPE:  # autocast's low-precision copy of a float32 parameter
                kept.append(("new", numel(saved.shape) * DTYPE_BYTES[compute]))
        elif not (saved.autocast_only and autocast is None):
            elements = numel(saved.shape) * (batch if saved.batched else 1)
            dtype = {"compute": compute, "autocast_float32": "float32" if autocast else compute,
                     "input": in_dtypes[saved.index]}.get(saved.dtype, saved.dtype)
            kept.append(("new", elements * DTYPE_BYTES[dtype]))
    return kept


def saved_activations(graph: Graph, batch: int = 1, autocast: str | None = None) -> SavedActivations:
    """Bytes autograd keeps for backward, each storage once (module docstring)."""
    dtype, storage, size = _storage_plan(graph, True, autocast, batch)
    grad: dict[str, bool] = {}
    kept: dict[object, int] = {}
    per_node: dict[str, int] = {}
    for node in graph.topological():
        data = graph[node]
        if not isinstance(data, OpNode):
            grad[node] = False
            continue
        op, ins, in_shapes, shape = data.op, graph.inputs_of(node), data.in_shapes, data.shape
        grad[node] = any(grad[i] for i in ins) or op.param_count(in_shapes, shape) > 0
        if not grad[node]:
            continue  # no input needs a gradient and there is nothing to train: no backward
        added = 0
        entries = kept_by(op, in_shapes, shape, [dtype[i] for i in ins], [grad[i] for i in ins], batch, autocast)
        for index, (which, nbytes) in enumerate(entries):
            key: object
            if which == "new":
                key = (node, index)
            else:
                key = storage[ins[which]] if isinstance(which, int) else storage[node]  # an input's, or the output's
                nbytes = size[key]
            if key not in kept:  # the first op to keep it runs its backward last
                kept[key] = nbytes
                added += nbytes
        per_node[node] = added
    return SavedActivations(sum(kept.values()), per_node, dtype, storage, released=per_node, needs_grad=grad)


def workspace_bytes(op: Op, in_shapes: list[Shape], out_shape: Shape, batch: int, dtype: str) -> int:
    """Bytes of the temporaries an op's kernel holds while it runs (`Op.workspace`)."""
    return sum(numel(t.shape) * (batch if t.batched else 1) * DTYPE_BYTES[dtype if t.dtype == "compute" else t.dtype]
               for t in op.workspace(in_shapes, out_shape))


def op_transient(graph: Graph, node: str, batch: int, dtypes: dict[str, str],
                 written: dict[str, int] | None = None) -> int:
    """The extra memory one op needs while its backward runs: the gradient of its output and
    those of its inputs, live together, and its kernel's workspace (`Op.workspace`). `written`
    memoizes the input gradients of running concats (largest_transient passes one)."""
    data = graph.op_node(node)
    work = workspace_bytes(data.op, data.in_shapes, data.shape, batch, dtypes[node])
    grads = numel(data.shape) * DTYPE_BYTES[dtypes[node]]
    grads += _input_gradients(graph, node, dtypes, {} if written is None else written)
    return grads * batch + work


def _input_gradients(graph: Graph, node: str, dtypes: dict[str, str], written: dict[str, int]) -> int:
    """Bytes (per sample) of the gradients of a node's inputs, each in its own dtype; a running
    concat's first input counted as its parts, as written (a part's dtype may differ from the
    concat's under autocast). Walks a chain back to the first concat it has already summed."""
    chain = []
    while node in graph.running and node not in written:
        chain.append(node)
        node = graph.inputs_of(node)[0]
    if node not in written:
        ins = zip(graph.inputs_of(node), graph.op_node(node).in_shapes, strict=True)
        written[node] = sum(numel(s) * DTYPE_BYTES[dtypes[i]] for i, s in ins)
    for link in reversed(chain):
        rest = zip(graph.inputs_of(link)[1:], graph.op_node(link).in_shapes[1:], strict=True)
        written[link] = written[graph.inputs_of(link)[0]] + sum(numel(s) * DTYPE_BYTES[dtypes[i]] for i, s in rest)
    return written[chain[0] if chain else node]


def largest_transient(graph: Graph, batch: int, dtypes: dict[str, str]) -> int:
    written: dict[str, int] = {}
    return max((op_transient(graph, node, batch, dtypes, written) for node, _ in graph.ops()), default=0)


def backward_peak(graph: Graph, saved: SavedActivations, batch: int) -> int:
    """The most that saved activations, parameter gradients and activation gradients hold at
    once while backward runs the ops in reverse: each op adds its parameters' float32 gradients
    and lets go of the storages that no earlier op keeps; a node's gradient lives from the
    backward of its last user (in forward order) to its own, so a skip connection's gradient
    waits through the whole decoder (U-Net)."""
    ops = list(graph.ops())
    index = {node: i for i, (node, _) in enumerate(ops)}
    born: dict[int, list[str]] = {}
    written = written_users(graph)
    for node, _ in ops:
        if saved.needs_grad.get(node):
            users = [index[u] for u in written[node] if u in index]
            born.setdefault(max(users, default=index[node]), []).append(node)
    gradient = {node: numel(data.shape) * batch * DTYPE_BYTES[saved.dtypes[node]] for node, data in ops}
    live, grads, flowing, peak = saved.total, 0, 0, 0
    for i in range(len(ops) - 1, -1, -1):
        node, data = ops[i]
        flowing += sum(gradient[v] for v in born.get(i, ()))
        own = data.op.param_count(data.in_shapes, data.shape) * DTYPE_BYTES[PARAM_DTYPE]
        work = workspace_bytes(data.op, data.in_shapes, data.shape, batch, saved.dtypes[node])
        peak = max(peak, live + grads + own + flowing + work)
        grads += own
        live -= saved.released.get(node, 0)
        if saved.needs_grad.get(node):
            flowing -= gradient[node]
    return peak


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
    peak: int = 0  # the estimated peak: backward's or the optimizer step's, whichever is larger

    @property
    def total(self) -> int:
        return (self.weights + self.buffers + self.gradients + self.optimizer_state + self.saved_activations
                + self.transient)

    def as_json(self) -> dict:
        return {"batch": self.batch, "dtype": self.dtype, "optimizer": self.optimizer, "weights": self.weights,
                "buffers": self.buffers, "gradients": self.gradients, "optimizer_state": self.optimizer_state,
                "saved_activations": self.saved_activations, "transient": self.transient, "total": self.total,
                "peak": self.peak}


def training_plan(graph: Graph, params: int, buffers: Buffers, batch: int = 1, dtype: str = "float32",
                  optimizer: str = "adamw", saved: SavedActivations | None = None) -> TrainingPlan:
    """`saved`: saved_activations(graph, batch, autocast_of(dtype)) when the caller has it."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"Expected an optimizer in {sorted(OPTIMIZERS)}; received optimizer={optimizer!r}")
    if saved is None:
        saved = saved_activations(graph, batch, autocast_of(dtype))
    weights = params * DTYPE_BYTES[PARAM_DTYPE]
    largest_param = max((data.op.param_count(data.in_shapes, data.shape) for _, data in graph.ops()),
                        default=0)
    # the step: torch's for-loop Adam computes sqrt(v) / c, two temporaries of one parameter's
    # size at a time; SGD, with or without momentum, works in place
    step = 2 * largest_param * DTYPE_BYTES[PARAM_DTYPE] if optimizer in ("adam", "adamw") else 0
    transient = max(largest_transient(graph, batch, saved.dtypes), step)
    state, kept = OPTIMIZERS[optimizer] * weights, buffers.nbytes(DTYPE_BYTES[PARAM_DTYPE])
    peak = weights + kept + state + max(backward_peak(graph, saved, batch), weights + step)
    return TrainingPlan(weights, kept, weights, state, saved.total, transient, optimizer, batch,
                        canonical_dtype(dtype), peak)


def largest_batch(graph: Graph, params: int, buffers: Buffers, budget: int, dtype: str = "float32",
                  optimizer: str = "adamw", limit: int = 1 << 20) -> int:
    """The largest batch whose training plan fits in `budget` bytes (0 if not even batch 1)."""
    def fits(batch: int) -> bool:
        return training_plan(graph, params, buffers, batch, dtype, optimizer).total <= budget

    if not fits(1):
        return 0
    low, high = 1, 2  # the plan grows with the batch: double until it no longer fits, then bisect
    while high <= limit and fits(high):
        low, high = high, high * 2
    high = min(high, limit + 1)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def _common(a: tuple, b: tuple) -> tuple:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def inference_peak(graph: Graph, batch: int = 1, dtype: str = "float32") -> int:
    """The largest sum of live activation bytes in an eval forward pass (module docstring)."""
    dtypes, storage, size = _storage_plan(graph, False, None, batch)
    element = bytes_per_element(dtype)
    scale = {s: size[s] // DTYPE_BYTES[dtypes[s]] * element for s in size}  # every tensor at `dtype`
    order = [n for n in graph.topological()
             if graph[n].kind != "output" and not graph[n].training_only]
    position = {n: i for i, n in enumerate(order)}
    scope = {n: graph[n].path[:-1] for n in order}
    scope_end: dict[tuple, int] = {}
    for node in order:
        path = graph[node].path
        for depth in range(1, len(path)):
            scope_end[path[:depth]] = position[node]
    free_at: dict[object, int] = {}
    written = written_users(graph)
    for node in order:
        users = [u for u in written[node] if u in position]
        if graph[node].kind == "input" or len(users) < len(written[node]):
            end = len(order)  # held by the caller, or returned to it
        else:
            end = position[node]
            entries: dict[tuple, set] = {}  # per frame that uses it, the calls and ops that do
            for user in users:
                frame = _common(scope[node], scope[user])
                # an argument of a submodule's call lives until that call returns
                entered = scope[user][:len(frame) + 1] if len(scope[user]) > len(frame) else None
                end = max(end, scope_end[entered] if entered else position[user])
                entries.setdefault(frame, set()).add(entered or user)
            for frame, uses in entries.items():
                if len(uses) > 1:  # used twice in one function: it has a name until that returns
                    end = max(end, scope_end[frame] if frame else len(order))
        key = storage[node]
        free_at[key] = max(free_at.get(key, 0), end)
    frees: dict[int, list] = {}
    for key, end in free_at.items():
        frees.setdefault(end, []).append(key)
    live, peak = 0, 0
    for step, node in enumerate(order):
        data = graph[node]
        if storage[node] == node:
            live += scale[node]
        if isinstance(data, OpNode):  # the op's output and its kernel's temporaries, its inputs still alive
            peak = max(peak, live + workspace_bytes(data.op, data.in_shapes, data.shape, batch, dtype))
        peak = max(peak, live)
        live -= sum(scale[key] for key in frees.get(step, ()))
    return peak
