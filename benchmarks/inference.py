"""netgen's inference build versus torchvision's eager module: eval forward latency, side by side.

    .venv/bin/python benchmarks/inference.py [resnet50 mobilenet_v2 efficientnet_b0] [--batch 1 16]
        [--size 224] [--repeats 9] [--compile resnet50 ...] [--threads N] [--no-census]

For each model it builds torchvision's module and netgen's inference build (channels_last) and
loads torchvision's weights into the latter through the emitted file's `inference_state_dict`,
so that both compute the same function (the largest relative difference of their outputs is
printed). It also times the inference build without channels_last (batch norm folded only),
and, for the models given to --compile, `torch.compile` of the inference build (compiled once,
before timing; the compile time is printed). The variants are timed round by round, each round
calling each once in a rotating order (netgen.bench.timing.interleaved), all under
torch.inference_mode(); it prints median milliseconds and the ratios torchvision / variant
(above 1: netgen's build is faster), then the same ratios of each variant's fastest call. On a
shared machine other load slows every column alike in a round, which is why the rounds
interleave; but a call's median there mostly measures the CPU share it got, and the fastest call
the cost with the least interference. Run it on an idle machine for figures to quote.

First, for each model, it counts what one forward pass at batch 1 runs (netgen/bench/census.py,
torch.profiler: aten ops, and aten::copy_ by cause), which the load does not change. With
`--threads 1` it also prints the ratios of each variant's median thread CPU time per call
(time.thread_time): on a shared machine the least disturbed measure of the work a call does,
since time spent waiting for a core is not counted (cache sharing still is).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import import_torchvision  # noqa: E402

import netgen  # noqa: E402
from netgen.bench.census import census  # noqa: E402
from netgen.bench.timing import interleaved  # noqa: E402


def inference_build(name: str, size: int, channels_last: bool, weights: dict):
    model = netgen.load(name, input=(3, size, size), inference=True, channels_last=channels_last)
    model.load_state_dict(netgen.inference_state_dict(model, weights), strict=True)
    return model.eval()


def thread_timed(call, sink: list[float]):
    """`call`, appending each call's thread CPU seconds to `sink`."""
    def timed():
        start = time.thread_time()
        call()
        sink.append(time.thread_time() - start)
    return timed


def print_census(name: str, variants: dict, size: int) -> None:
    x = torch.randn(1, 3, size, size)
    for label, model in variants.items():
        counted = census(model, x)
        copies = ", ".join(f"{n} {cause}" for cause, n in sorted(counted.copies.items())) or "none"
        print(f"{name:<16} {label:<12} {counted.total:>5} aten ops, aten::copy_: {copies}", flush=True)


def relative_difference(reference: torch.Tensor, other: torch.Tensor) -> float:
    return ((reference - other).abs().max() / reference.abs().max()).item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=["resnet50", "mobilenet_v2", "efficientnet_b0"])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--compile", nargs="*", default=[], metavar="MODEL",
                        help="models whose inference build is also timed under torch.compile")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--no-census", action="store_true", help="skip the profiled op counts at batch 1")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torchvision = import_torchvision()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, input 3x{args.size}x{args.size}, "
          f"median of {args.repeats} interleaved rounds, torch.inference_mode()")
    one_thread = torch.get_num_threads() == 1
    header = (f"{'model':<16} {'batch':>5} {'torchvision ms':>15} {'folded ms':>10} {'ratio':>6} "
              f"{'folded+CL ms':>13} {'ratio':>6} {'compiled ms':>12} {'ratio':>6} {'max rel diff':>13}  "
              "ratios of the fastest calls" + ("; of the median thread CPU times" if one_thread else ""))
    built = {}
    for name in args.models:
        reference = getattr(torchvision.models, name)().eval()
        weights = reference.state_dict()
        folded = inference_build(name, args.size, False, weights)
        fast = inference_build(name, args.size, True, weights)
        built[name] = (reference, folded, fast)
        if not args.no_census:
            print_census(name, {"torchvision": reference, "folded": folded, "folded+CL": fast}, args.size)
    print(header)
    for name in args.models:
        reference, folded, fast = built.pop(name)
        compiled = None
        if name in args.compile:
            start = time.perf_counter()
            compiled = torch.compile(fast)
            with torch.inference_mode():
                compiled(torch.randn(args.batch[0], 3, args.size, args.size))
            print(f"{name}: torch.compile of the inference build took {time.perf_counter() - start:.1f} s "
                  f"(first call, batch {args.batch[0]})")
        for batch in args.batch:
            x = torch.randn(batch, 3, args.size, args.size)
            variants = [reference, folded, fast] + ([compiled] if compiled is not None else [])
            with torch.inference_mode():
                outputs = [model(x) for model in variants]  # warm-up, and the check that all agree
                difference = max(relative_difference(outputs[0], out) for out in outputs[1:])
                cpu: list[list[float]] = [[] for _ in variants]
                calls = [thread_timed(lambda m=m, x=x: m(x), sink) for m, sink in zip(variants, cpu, strict=True)]
                samples = interleaved(calls, args.repeats)
            ms = [s.median * 1000 for s in samples]
            cells = [f"{ms[0]:>15.1f}", f"{ms[1]:>10.1f}", f"{ms[0] / ms[1]:>6.2f}", f"{ms[2]:>13.1f}",
                     f"{ms[0] / ms[2]:>6.2f}"]
            if compiled is not None:
                cells += [f"{ms[3]:>12.1f}", f"{ms[0] / ms[3]:>6.2f}"]
            else:
                cells += [f"{'-':>12}", f"{'-':>6}"]
            # under contention a call's median mostly measures its share of the CPU; the fastest
            # call of each (timeit's habit) is the cost with the least interference
            fastest = [min(s.times) for s in samples]
            best = " ".join(f"{fastest[0] / f:.2f}" for f in fastest[1:])
            if one_thread:  # with more threads, the others' work is not in this thread's time
                medians = [sorted(c)[len(c) // 2] for c in cpu]
                best += "; " + " ".join(f"{medians[0] / m:.2f}" for m in medians[1:])
            print(f"{name:<16} {batch:>5} " + " ".join(cells) + f" {difference:>13.1e}  {best}", flush=True)


if __name__ == "__main__":
    main()
