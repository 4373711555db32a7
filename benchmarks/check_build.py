"""`check` and `build` speed now versus a reference commit (default e4fba47, before the lowering
was split into netgen/lowering/), side by side.

    .venv/bin/python benchmarks/check_build.py [resnet50 densenet121 ...] [--ref e4fba47] [--repeat 5]

The reference is checked out once as a detached git worktree in a temporary folder (removed at
the end). Both trees compile the same blueprint files, the reference's, so only the code
differs. Two measurements per model, each alternating the two trees so that both see the same
machine state, and each the minimum of `--repeat` runs (the least disturbed one):

- `compile`: in a child process per tree, `netgen.compile_blueprint` (load, validate, lower,
  shape-check) timed in a loop: the cost the lowering's structure could change;
- `check` and `build`: the command a user runs (`python -m netgen check|build`), start-up
  included, as a wall-clock time.

It prints seconds and the ratio now / reference (1.00 = as fast; below 1 is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ["resnet50", "densenet121", "efficientnet_b7", "inception_v3", "preact_resnet1001"]

# Run in a child whose cwd is one tree: compile each blueprint `repeat` times, print the best.
COMPILE_TIMER = """
import json, sys, time
import netgen
paths, repeat = json.loads(sys.argv[1]), int(sys.argv[2])
best = {}
for path in paths:
    netgen.compile_blueprint(path)  # warm: imports and caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        netgen.compile_blueprint(path)
        times.append(time.perf_counter() - start)
    best[path] = min(times)
print(json.dumps(best))
"""


def child_env(tree: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(tree)}


def compile_times(tree: Path, paths: list[str], repeat: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", COMPILE_TIMER, json.dumps(paths), str(repeat)], cwd=tree,
                         env=child_env(tree), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def command_time(tree: Path, args: list[str], out_dir: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "netgen", *args], cwd=out_dir, env=child_env(tree),
                   capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--ref", default="e4fba47", help="the commit to compare against")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp) / "ref"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(ref), args.ref],
                       check=True, capture_output=True)
        try:
            run(ref, args.models, args.repeat, Path(tmp))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref)], check=False)


def run(ref: Path, models: list[str], repeat: int, tmp: Path) -> None:
    paths = [str(ref / "blueprints" / f"{m}.yaml") for m in models]
    trees = {"now": ROOT, "ref": ref}
    best: dict[tuple[str, str, str], float] = {}
    for _ in range(2):  # alternate the trees; keep each one's best
        for label, tree in trees.items():
            for path, seconds in compile_times(tree, paths, repeat).items():
                key = (Path(path).stem, "compile", label)
                best[key] = min(best.get(key, seconds), seconds)
    for _ in range(repeat):
        for model, path in zip(models, paths, strict=True):
            for label, tree in trees.items():
                out_dir = tmp / f"out-{label}"
                out_dir.mkdir(exist_ok=True)
                for command, extra in (("check", []), ("build", ["-o", str(out_dir / model)])):
                    seconds = command_time(tree, [command, path, *extra], out_dir)
                    key = (model, command, label)
                    best[key] = min(best.get(key, seconds), seconds)
    print(f"{'model':<20} {'what':<8} {'now s':>8} {'ref s':>8} {'now/ref':>8}")
    for model in models:
        for what in ("compile", "check", "build"):
            now, before = best[(model, what, "now")], best[(model, what, "ref")]
            print(f"{model:<20} {what:<8} {now:8.3f} {before:8.3f} {now / before:8.2f}")


if __name__ == "__main__":
    main()
