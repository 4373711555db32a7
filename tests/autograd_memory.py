"""What torch itself keeps for backward, measured: the oracle of the memory tests.

`torch.autograd.graph.saved_tensors_hooks` sees every tensor autograd saves while a forward
pass records its graph. Counting each storage once (views and in-place results share one) and
leaving out the model's parameters and buffers gives the bytes the saved activations occupy,
which is what netgen's `saved_activations` predicts. Works on the meta device too (storages
have sizes and identities there, no data), which makes full-size library models cheap.
"""

from __future__ import annotations

import contextlib

import torch

from netgen.bench.steps import OPTIMIZERS as BENCH_OPTIMIZERS
from netgen.bench.steps import TORCH_DTYPES, train_call  # noqa: F401  (TORCH_DTYPES: the tests import it here)


def storage_id(tensor) -> int:
    return tensor.untyped_storage()._cdata  # the StorageImpl: shared by views, unique otherwise


@contextlib.contextmanager
def recording(exclude=()):
    """Within the block, record every storage autograd saves, except those of `exclude`."""
    skip = {storage_id(t) for t in exclude}
    seen: dict[int, tuple[int, torch.Tensor]] = {}

    def pack(tensor):
        key = storage_id(tensor)
        if key not in skip:
            seen.setdefault(key, (tensor.untyped_storage().nbytes(), tensor))
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield seen


def autocast(dtype: torch.dtype | None, device: str = "cpu"):
    return torch.autocast(device, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def saved_bytes(model: torch.nn.Module, x: torch.Tensor, low: torch.dtype | None = None) -> int:
    """Bytes of the storages autograd keeps after one training forward of `model` on `x`."""
    owned = list(model.parameters()) + list(model.buffers())
    with recording(owned) as seen, autocast(low):
        model(x)
    return sum(nbytes for nbytes, _ in seen.values())




def profiled_peak(run) -> int:
    """The peak of the memory `run()` allocates on the CPU beyond what existed before it, from
    torch's profiler memory view (`profile_memory=True` records every allocation and free, with
    its size and time)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        live += event.nbytes()  # negative for a free
        peak = max(peak, live)
    return peak


def state_bytes(model, optimizer=None) -> int:
    """Bytes of the parameters, buffers and optimizer state that exist before a step."""
    tensors = list(model.parameters()) + list(model.buffers())
    if optimizer is not None:
        tensors += [v for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v)]
    return sum(t.untyped_storage().nbytes() for t in tensors)


def training_step(model, x, optimizer, low: torch.dtype | None = None):
    """One training step as a user writes it (zero_grad(set_to_none), forward, a loss over every
    output, backward, step): the very step `netgen bench` times."""
    names = {dtype: name for name, dtype in TORCH_DTYPES.items()}
    return train_call(model, (x,), optimizer, names[low] if low is not None else "float32")


def measured_training_peak(model, x, optimizer, low: torch.dtype | None = None, warmup: int = 2) -> int:
    """Peak memory of a steady-state training step (optimizer state already allocated): the
    weights, buffers, optimizer state and input, plus the peak of what the step allocates."""
    step = training_step(model, x, optimizer, low)
    for _ in range(warmup):
        step()
    optimizer.zero_grad(set_to_none=True)
    return state_bytes(model, optimizer) + x.untyped_storage().nbytes() + profiled_peak(step)


def measured_inference_peak(model, x) -> int:
    """Peak activation memory of one eval forward pass under no_grad: the input plus the peak of
    what the pass allocates (weights not included)."""
    model.eval()

    def run():
        with torch.no_grad():
            model(x)
    return x.untyped_storage().nbytes() + profiled_peak(run)


# the optimizers a step can take (netgen bench's, less "none": the memory tests always step one)
OPTIMIZERS = {name: factory for name, factory in BENCH_OPTIMIZERS.items() if factory is not None}
