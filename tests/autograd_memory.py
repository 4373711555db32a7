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


TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
