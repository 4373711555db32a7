"""Compile cost against graph size (issue 17: linear in ops), for three shapes of network:

    .venv/bin/python benchmarks/scaling.py [--sizes 100 1000 10000 20000] [--shapes chain residual dense]
    .venv/bin/python benchmarks/scaling.py --root /tmp/old-worktree   # an older commit's netgen, same networks

- `chain`: N/2 (conv 1x1, relu) pairs in one repeat;
- `residual`: N/5 residual blocks (conv, bn, relu, conv; add), a ResNet stack of any depth;
- `dense`: a DenseNet block of N/4 layers (a block of bn, relu, conv; and a concat per layer):
  each layer reads every earlier output, held as a running concat (two inputs per concat), so
  it is linear in its layers; before, the concats' inputs grew with the square of its length
  and past about 1,400 layers it had over MAX_EDGES connections and was refused (NG013).

For each size it prints the ops compiled, the CPU seconds of `compile_blueprint` (load,
validate, lower, shape-check) and of `summarize` (every analysis), their cost per op in
microseconds, and the growth exponent between consecutive sizes (log time ratio / log ops
ratio: 1.0 is linear, 2.0 quadratic). Each size runs in a fresh child process, so that no cache
carries over and its peak memory (max RSS, MB) is its own.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BLUEPRINTS = {
    "chain": """netgen: 1
name: chain
input: [8, 8, 8]
network:
  - repeat: {n}
    body:
      - conv: {{out: 8, k: 1}}
      - relu
""",
    "residual": """netgen: 1
name: residual
input: [8, 8, 8]
network:
  - repeat: {n}
    body:
      residual:
        body:
          - conv: {{out: 8, k: 1, bias: false}}
          - bn
          - relu
          - conv: {{out: 8, k: 1, bias: false}}
""",
    "dense": """netgen: 1
name: dense
input: [8, 4, 4]
blocks:
  layer:
    body: [bn, relu, {{conv: {{out: 2, k: 1, bias: false}}}}]
network:
  - dense:
      repeat: {n}
      body: {{layer: {{}}}}
""",
}
OPS_PER_UNIT = {"chain": 2, "residual": 5, "dense": 4}

TIMER = """
import json, resource, sys, time
import netgen
from netgen.analysis import summarize
text = sys.argv[1]
start = time.process_time()
graph = netgen.compile_text(text, source="scaling.yaml")
lowered = time.process_time()
summarize(graph)
done = time.process_time()
ops = sum(1 for _ in graph.ops())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"ops": ops, "compile": lowered - start, "summary": done - lowered, "rss": rss}))
"""


def run(shape: str, ops: int, root: Path = ROOT) -> dict | None:
    text = BLUEPRINTS[shape].format(n=max(1, ops // OPS_PER_UNIT[shape]))
    done = subprocess.run([sys.executable, "-c", TIMER, text], cwd=root, capture_output=True, text=True)
    if "NG013" in done.stderr:  # over netgen's graph limits (netgen/limits.py): a refusal, not a crash
        return None
    if done.returncode != 0:
        sys.exit(f"{shape} at {ops} ops failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def exponent(a: dict, b: dict, key: str) -> str:
    if a[key] <= 0 or b[key] <= 0 or a["ops"] == b["ops"]:
        return "-"
    return f"{math.log(b[key] / a[key]) / math.log(b['ops'] / a['ops']):.2f}"


def best_of(runs: list[dict | None]) -> dict | None:
    """The fastest of several runs (compile and summary each at their minimum): on a shared machine
    the minimum is the run least disturbed by others."""
    if not runs or any(r is None for r in runs):
        return None
    done = [r for r in runs if r is not None]
    return {**done[0], "compile": min(r["compile"] for r in done), "summary": min(r["summary"] for r in done),
            "rss": min(r["rss"] for r in done)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000, 20000])
    parser.add_argument("--shapes", nargs="+", default=list(BLUEPRINTS), choices=list(BLUEPRINTS))
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="The tree whose netgen compiles (default: this one), e.g. a worktree of an older commit.")
    parser.add_argument("--against", type=Path, default=None,
                        help="Another tree run in turn with this one at every size: adds its compile and summary "
                             "seconds and the ratios this / against.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per size and tree; the fastest counts.")
    args = parser.parse_args()
    head = "| shape | ops | compile s | µs/op | exponent | summary s | µs/op | exponent | max RSS MB |"
    if args.against:
        head += " against: compile s | summary s | compile ratio | summary ratio |"
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    for shape in args.shapes:
        previous = None
        for size in args.sizes:
            ours: list[dict | None] = []
            theirs: list[dict | None] = []
            for _ in range(args.repeat):  # the two trees in turn, so that both see the same load
                ours.append(run(shape, size, args.root))
                if args.against:
                    theirs.append(run(shape, size, args.against))
            r, old = best_of(ours), best_of(theirs)
            if r is None:
                print(f"| {shape} | ~{size} | refused: over MAX_NODES or MAX_EDGES (netgen/limits.py) | | | | | | |")
                break
            line = (f"| {shape} | {r['ops']} | {r['compile']:.3f} | {1e6 * r['compile'] / r['ops']:.0f} | "
                    f"{exponent(previous, r, 'compile') if previous else '-'} | {r['summary']:.3f} | "
                    f"{1e6 * r['summary'] / r['ops']:.0f} | {exponent(previous, r, 'summary') if previous else '-'} | "
                    f"{r['rss']:.0f} |")
            if args.against:
                line += (" refused | | | |" if old is None else
                         f" {old['compile']:.3f} | {old['summary']:.3f} | {r['compile'] / old['compile']:.2f} | "
                         f"{r['summary'] / old['summary']:.2f} |")
            print(line, flush=True)
            previous = r


if __name__ == "__main__":
    main()
