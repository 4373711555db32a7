"""Emitted modules versus torchvision's hand-written ones: time and memory, side by side.

    .venv/bin/python benchmarks/forward_backward.py [resnet50 densenet121 ...] [--batch 8] [--size 224] [--threads 1]

For each model it builds netgen's module and torchvision's, copies the weights across (so the
two compute the same thing), and alternates timed forward+backward passes between them in one
process, so both see the same machine state. It prints the median times and the ratio
netgen / torchvision (1.00 = as fast): the median over rounds of each round's ratio, the two
steps of a round run back to back, so that a slow spell of the machine lands on both sides of a
ratio instead of on one side's median; p25-p75 is the spread of those per-round ratios. On the
shared 2-core machine, two threads swing by 5-10 % from run to run and `--threads 1` is quiet to
about 1 % (benchmarks/README.md). Run it on an idle machine: other load skews both columns.

Memory is what a training step keeps for the backward pass: the bytes of the distinct tensors
autograd saves (counted with `torch.autograd.graph.saved_tensors_hooks`, each storage once),
the figure that grows with batch size and decides whether a batch fits. Parameters are equal
by construction (the weights are copied), so they are not compared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import import_torchvision  # noqa: E402

import netgen  # noqa: E402
from netgen.bench.steps import train_call  # noqa: E402
from netgen.bench.timing import interleaved, percentile  # noqa: E402


def saved_bytes(step) -> int:
    """Bytes autograd keeps between the forward and the backward pass of `step()`, each storage once."""
    storages: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        step()
    return sum(storages.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=["resnet50", "densenet121", "vgg16"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's); 1 is the quietest on a shared machine")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torchvision = import_torchvision()
    torch.manual_seed(0)
    print(f"{'model':<16} {'netgen s':>9} {'torchvision s':>14} {'ratio':>6}   "
          f"{'p25-p75':>11}   {'netgen MB':>10} {'torchvision MB':>15} {'ratio':>6}")
    for name in args.models:
        ours = netgen.load(ROOT / "blueprints" / f"{name}.yaml", input=(3, args.size, args.size)).train()
        reference = getattr(torchvision.models, name)().train()
        ours.load_state_dict(reference.state_dict(), strict=True)
        x = torch.randn(args.batch, 3, args.size, args.size)
        steps = [train_call(ours, (x,)), train_call(reference, (x,))]  # forward + backward, no optimizer
        for step in steps:
            step()  # warm-up
        ours_times, ref_times = interleaved(steps, args.repeats)
        a, b = ours_times.median, ref_times.median
        paired = sorted(t / r for t, r in zip(ours_times.times, ref_times.times, strict=True))
        ratio, low, high = statistics.median(paired), percentile(paired, 25), percentile(paired, 75)
        ma, mb = saved_bytes(steps[0]) / 2**20, saved_bytes(steps[1]) / 2**20
        print(f"{name:<16} {a:>9.3f} {b:>14.3f} {ratio:>6.3f} {low:>5.2f}-{high:<5.2f}   "
              f"{ma:>10.1f} {mb:>15.1f} {ma / mb:>6.2f}")
    print("time: median forward+backward step, alternated in one process; ratio: median over rounds of "
          "netgen / torchvision; MB: tensors saved for backward, ratio netgen / torchvision")


if __name__ == "__main__":
    main()
