"""Diagram cost against graph size: `netgen render` at every detail level should grow about
linearly in the ops (at most with the nesting depth of the blocks, which MAX_BLOCK_DEPTH bounds).

    .venv/bin/python benchmarks/render_scaling.py [--sizes 511 1023 2047 4095] [--shapes tree distinct ...]
    .venv/bin/python benchmarks/render_scaling.py --against /tmp/old-worktree   # an older commit's netgen beside

- `tree`: a block that calls itself twice per level, its two calls parallel branches merged by an
  add (2^(d+1) - 1 ops at depth d: 511, 1023, 2047, 4095 for d = 8..11); every level is a block
  drawn as a frame at the blocks level. Before, a frame's check for frames inside it scanned every
  frame drawn so far (11.7 million reads at depth 10, 2,047 ops);
- `distinct`: N/4 residual blocks whose widths all differ, so that none folds into a ×N run: at
  the overview each is a box, and each box's words read the scopes inside it (before: every scope);
- `chain`, `residual`, `dense`: scaling.py's networks.

For each shape, size and level it prints the ops, the CPU seconds the CLI's drawing takes
(`slide_views` or, at the full level, `choose_view` and `refusal`, then `to_dot`: everything
`netgen render` does but compile and run graphviz), the cost per op in microseconds and the
growth exponent between consecutive sizes (log time ratio / log ops ratio: 1.0 is linear, 2.0
quadratic); "refused" boxes: more slides than a picture may have (the CLI's exit 2, after the same
work). Each run is a fresh child process; with --repeat the fastest counts.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

from scaling import BLUEPRINTS as COMPILE_BLUEPRINTS
from scaling import OPS_PER_UNIT

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
# the two networks the growth test counts, the same text timed here
from test_render_scaling import DISTINCT, TREE  # noqa: E402

LEVELS = ("overview", "blocks", "full")


def blueprint(shape: str, ops: int) -> str:
    if shape == "tree":  # the depth whose 2^(d+1) - 1 ops are nearest
        return TREE.format(n=max(0, round(math.log2((ops + 1) / 2))))
    if shape == "distinct":
        return DISTINCT.format(n=max(1, ops // 4))
    return COMPILE_BLUEPRINTS[shape].format(n=max(1, ops // OPS_PER_UNIT[shape]))


TIMER = """
import json, sys, time
import netgen
from netgen.render import TooLarge, choose_view, refusal, slide_views, to_dot
from netgen.render.style import theme
text, level = sys.argv[1], sys.argv[2]
graph = netgen.compile_text(text, source="render_scaling.yaml")
start = time.process_time()
try:
    if level == "full":  # as `netgen render --detail full` draws it: one view, and whether it fits a slide
        views = [choose_view(graph, level)]
        refusal(views[0])
    else:
        views = slide_views(graph, level)
    sources = [to_dot(v, theme("light"), "TB") for v in views]
    boxes = str(sum(len(v.nodes) for v in views))
except TooLarge:  # more slides than a picture may have: the CLI's refusal (exit 2), after the same work
    boxes = "refused"
done = time.process_time()
print(json.dumps({"ops": sum(1 for _ in graph.ops()), "seconds": done - start, "boxes": boxes}))
"""


def run(shape: str, ops: int, level: str, root: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", TIMER, blueprint(shape, ops), level], cwd=root,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{shape} at {ops} ops, --detail {level} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fastest(shape: str, ops: int, level: str, root: Path, repeat: int) -> dict:
    runs = [run(shape, ops, level, root) for _ in range(repeat)]
    return {**runs[0], "seconds": min(r["seconds"] for r in runs)}


def exponent(a: dict | None, b: dict) -> str:
    if a is None or a["seconds"] <= 0 or b["seconds"] <= 0 or a["ops"] == b["ops"]:
        return "-"
    return f"{math.log(b['seconds'] / a['seconds']) / math.log(b['ops'] / a['ops']):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[511, 1023, 2047, 4095])
    parser.add_argument("--shapes", nargs="+", default=["tree", "distinct"],
                        choices=["tree", "distinct", *COMPILE_BLUEPRINTS])
    parser.add_argument("--levels", nargs="+", default=list(LEVELS), choices=LEVELS)
    parser.add_argument("--root", type=Path, default=ROOT, help="The tree whose netgen draws (default: this one).")
    parser.add_argument("--against", type=Path, default=None,
                        help="Another tree (an older commit's worktree) run at every size too: adds its seconds, "
                             "its exponent and the ratio this / against.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per size and tree; the fastest counts.")
    args = parser.parse_args()
    head = "| shape | level | ops | boxes | seconds | µs/op | exponent |"
    if args.against:
        head += " against: seconds | exponent | ratio |"
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    for shape in args.shapes:
        for level in args.levels:
            previous = previous_old = None
            for size in args.sizes:
                r = fastest(shape, size, level, args.root, args.repeat)
                line = (f"| {shape} | {level} | {r['ops']} | {r['boxes']} | {r['seconds']:.3f} | "
                        f"{1e6 * r['seconds'] / r['ops']:.0f} | {exponent(previous, r)} |")
                if args.against:
                    old = fastest(shape, size, level, args.against, args.repeat)
                    ratio = r["seconds"] / old["seconds"] if old["seconds"] > 0 else float("nan")
                    line += f" {old['seconds']:.3f} | {exponent(previous_old, old)} | {ratio:.2f} |"
                    previous_old = old
                print(line, flush=True)
                previous = r


if __name__ == "__main__":
    main()
