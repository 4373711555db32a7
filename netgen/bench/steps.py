"""What `netgen bench` times, as zero-argument calls: an eval forward pass and a training step
(zero_grad, forward, loss, backward, optimizer step) of a module on fixed inputs, under autocast
when a lower precision is asked for. The only part of netgen/bench that imports torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import torch

TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

# The optimizers a training step can take (the names of netgen.analysis.memory.OPTIMIZERS, whose
# state the training-memory plan counts); "none" times forward + backward alone.
OPTIMIZERS: dict[str, Callable | None] = {
    "sgd": lambda params: torch.optim.SGD(params, lr=1e-3),
    "momentum": lambda params: torch.optim.SGD(params, lr=1e-3, momentum=0.9),
    "adam": lambda params: torch.optim.Adam(params, lr=1e-4),
    "adamw": lambda params: torch.optim.AdamW(params, lr=1e-4),
    "none": None,
}


def output_tensors(out) -> list[torch.Tensor]:
    """Every tensor of a module's output: a tensor, a NamedTuple or tuple of outputs (auxiliary
    heads included), or a dict; training-only outputs are None in eval mode and skipped."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in output_tensors(item)]
    return []


def make_inputs(shapes: Sequence[Sequence[int]], batch: int, device: str, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Standard-normal inputs of the given per-sample shapes at `batch`, the same for the same seed."""
    generator = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(batch, *shape, generator=generator).to(device) for shape in shapes)


def autocast(dtype: str, device: str):
    """Mixed precision for a lower dtype (weights stay float32, as `netgen summary --dtype` counts
    a bf16/fp16 training step); float32 runs as written."""
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=TORCH_DTYPES[dtype])


def eval_call(model, inputs: tuple[torch.Tensor, ...], dtype: str = "float32", device: str = "cpu"):
    """One eval forward pass without autograd (the model must be in eval mode)."""
    def run():
        with torch.no_grad(), autocast(dtype, device):
            return model(*inputs)
    return run


def train_call(model, inputs: tuple[torch.Tensor, ...], optimizer=None, dtype: str = "float32",
               device: str = "cpu"):
    """One training step as a user writes it (the model must be in train mode): zero_grad, forward,
    a loss that reaches every output (auxiliary heads train too: the mean square of each), backward,
    and the optimizer's step when there is one."""
    params = [p for p in model.parameters() if p.requires_grad]

    def run():
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
        else:
            for p in params:
                p.grad = None
        with autocast(dtype, device):
            outs = output_tensors(model(*inputs))
            loss = sum(o.float().square().mean() for o in outs if o.is_floating_point())
        if isinstance(loss, torch.Tensor) and loss.requires_grad:  # a net without weights has no backward
            loss.backward()
        if optimizer is not None:
            optimizer.step()
    return run


def make_optimizer(name: str, model):
    factory = OPTIMIZERS[name]
    params = [p for p in model.parameters() if p.requires_grad]
    return factory(params) if factory is not None and params else None


def synchronizer(device: str) -> Callable[[], None] | None:
    """A call that waits for the device's queued work, or None where calls are synchronous (CPU)."""
    if torch.device(device).type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return None
