"""What one forward pass runs, counted with torch.profiler rather than timed: how many aten ops
of each name, and why each `aten::copy_` happens. Counts do not depend on the machine's load,
which on a shared machine makes wall-clock ratios of single calls unreliable; the inference
build's tests and benchmarks/inference.py read them.

A copy's cause is read from the ops that called it:
- `bias`: a conv's or linear's kernel filling its output with the bias before accumulating
  (torch's thnn conv and addmm do this);
- `scalar`: a 0-dimensional tensor copied (an average pool dividing by its element count);
- `layout`: a tensor of a network's rank converted between memory formats (`contiguous`,
  `clone`, `to`), such as the input made channels_last;
- `other`: anything else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

BIAS_FILLERS = ("aten::_slow_conv2d_forward", "aten::addmm", "aten::thnn_conv2d", "aten::linear")
CONVERSIONS = ("aten::contiguous", "aten::clone", "aten::to", "aten::_to_copy")


@dataclass
class Census:
    """One forward pass: aten ops by name (nested calls counted too), copies by cause, and the
    profiler's self CPU microseconds by name (wall-clock, so only indicative under load)."""

    ops: Counter = field(default_factory=Counter)
    copies: Counter = field(default_factory=Counter)
    self_us: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.ops.values())


def census(model, x, warmup: int = 1) -> Census:
    """Profile `model(x)` once under torch.inference_mode(), after `warmup` calls (so that caches
    a module fills on its first call, such as packed weights, are filled)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            model(x)
    result = Census()
    for event in prof.events():
        result.ops[event.name] += 1
        result.self_us[event.name] += event.self_cpu_time_total
        if event.name == "aten::copy_":
            result.copies[_cause(event)] += 1
    return result


def _cause(event) -> str:
    callers = []
    parent = event.cpu_parent
    while parent is not None:
        callers.append(parent.name)
        parent = parent.cpu_parent
    shapes = event.input_shapes or [[]]
    if any(name in BIAS_FILLERS for name in callers):
        return "bias"
    if len(shapes[0]) == 0:
        return "scalar"
    if callers and callers[0] in CONVERSIONS and len(shapes[0]) >= 3:
        return "layout"
    return "other"
