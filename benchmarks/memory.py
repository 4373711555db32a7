"""netgen's memory figures against torch's own measurement, side by side, per model.

    .venv/bin/python benchmarks/memory.py [resnet50 mobilenet_v2 ...] [--batch 8] [--size 128]
                                          [--optimizer adamw] [--dtype float32|bfloat16]

For each model it builds the module netgen emits and runs, on the CPU:

* one training forward under `saved_tensors_hooks`: the bytes autograd keeps for backward,
  each storage once (netgen: `memory.training.saved_activations`);
* a steady-state training step (zero_grad, forward, backward, optimizer step) under torch's
  profiler memory view: its peak, against netgen's training plan (`total`, an upper bound) and
  its estimated peak (`peak`);
* one eval forward under no_grad, profiled the same way: the activation peak, against netgen's
  `memory.inference.peak_activations`.

and prints the ratios predicted / measured (1.00 = exact). The helpers that measure are the
tests' (tests/autograd_memory.py), so the benchmark and the tests read torch the same way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from autograd_memory import (  # noqa: E402
    OPTIMIZERS,
    TORCH_DTYPES,
    measured_inference_peak,
    measured_training_peak,
    saved_bytes,
)

import netgen  # noqa: E402
from netgen.analysis import summarize  # noqa: E402
from netgen.codegen.module import build_module  # noqa: E402

DEFAULT = ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "densenet121", "vgg11", "googlenet", "unet"]
INPUTS = {"unet": (1, 188, 188)}  # U-Net's unpadded convs need a size of the form 16k + 124


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=DEFAULT)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=128, help="input height and width (default 128)")
    parser.add_argument("--optimizer", default="adamw", choices=sorted(OPTIMIZERS))
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    low = TORCH_DTYPES[args.dtype] if args.dtype != "float32" else None
    print(f"batch {args.batch}, {args.size}x{args.size}, {args.optimizer}, {args.dtype}; MB = 10^6 bytes")
    print("| model | saved MB netgen / torch | ratio | step MB plan / peak est. / torch | plan ratio | peak ratio "
          "| inference MB netgen / torch | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.models:
        probe = netgen.compile_blueprint(name)
        channels = probe[probe.inputs[0]].shape[0]
        graph = netgen.compile_blueprint(name, input=INPUTS.get(name, (channels, args.size, args.size)))
        torch.manual_seed(0)
        model = build_module(graph, name).train()
        x = torch.randn(args.batch, *graph[graph.inputs[0]].shape)
        summary = summarize(graph, batch=args.batch, dtype=args.dtype, optimizer=args.optimizer)
        plan = summary.training
        saved = saved_bytes(model, x, low)
        step = measured_training_peak(model, x, OPTIMIZERS[args.optimizer](model.parameters()), low)
        inference = measured_inference_peak(model, x)  # float32: the eval pass runs without autocast
        eager = summarize(graph, batch=args.batch).inference_peak_bytes
        mb = 1e6
        print(f"| {name} | {plan.saved_activations / mb:.1f} / {saved / mb:.1f} | {plan.saved_activations / saved:.3f} "
              f"| {plan.total / mb:.1f} / {plan.peak / mb:.1f} / {step / mb:.1f} | {plan.total / step:.3f} "
              f"| {plan.peak / step:.3f} | {eager / mb:.1f} / {inference / mb:.1f} | {eager / inference:.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
