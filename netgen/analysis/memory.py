"""Memory conventions: bytes per element, which op outputs are new tensors, training estimate.

* Parameter memory = (trainable parameters + buffers) x bytes per element of the chosen dtype.
  (torch keeps BatchNorm's `num_batches_tracked` as one int64; netgen counts it at the dtype's
  size, a difference of at most 4 bytes per BatchNorm layer.)
* Activation memory of one forward pass = the input plus every op output that is a *new*
  tensor, x batch x bytes per element. Outputs that reuse memory are counted once, where they
  were made: in-place activations (`relu` with `inplace: true`, torch's and torchvision's
  default), views (`flatten`, `identity`) and regularizers (`dropout`, `drop_path`), which return
  their input in eval mode.
  Nothing is freed: this is the sum over the pass, which is what training keeps for the
  backward pass, not the peak of an inference run (that frees tensors after their last use).
* Training memory estimate = weights + buffers + one gradient per weight + optimizer state
  (Adam: 2 per weight, SGD with momentum: 1, plain SGD: 0) + the forward activations above
  (with those of training-only heads), all at one dtype. It does not count: gradients of
  activations during the backward pass (transient, about one layer's worth at a time),
  dropout masks, cuDNN/oneDNN workspaces, allocator caching and fragmentation, the CUDA
  context, or fp32 master weights kept by mixed-precision training. Treat it as a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "momentum": 1, "sgd": 0}
VIEW_OPS = ("flatten", "identity")


def bytes_per_element(dtype: str) -> int:
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"Expected a dtype in {sorted(DTYPE_BYTES)}; received dtype={dtype!r}")
    return DTYPE_BYTES[dtype]


def makes_new_tensor(op) -> bool:
    """False for ops whose output shares memory with their input (in place, views, eval dropout)."""
    if op.kind in VIEW_OPS or op.family == "regularization":  # dropout, drop_path: identity in eval
        return False
    return not (op.family == "activation" and getattr(op.p, "inplace", False))


@dataclass(frozen=True)
class TrainingMemory:
    """The parts of the training-memory estimate, in bytes."""

    weights: int
    buffers: int
    gradients: int
    optimizer: int
    activations: int
    optimizer_name: str

    @property
    def total(self) -> int:
        return self.weights + self.buffers + self.gradients + self.optimizer + self.activations

    def as_json(self) -> dict:
        return {"weights": self.weights, "buffers": self.buffers, "gradients": self.gradients,
                "optimizer_state": self.optimizer, "activations": self.activations,
                "optimizer": self.optimizer_name, "total": self.total}


def training_memory(params: int, buffers: int, activation_bytes: int, element: int, optimizer: str) -> TrainingMemory:
    if optimizer not in OPTIMIZER_STATES:
        raise ValueError(f"Expected an optimizer in {sorted(OPTIMIZER_STATES)}; received optimizer={optimizer!r}")
    weights = params * element
    return TrainingMemory(weights, buffers * element, weights, OPTIMIZER_STATES[optimizer] * weights,
                          activation_bytes, optimizer)
