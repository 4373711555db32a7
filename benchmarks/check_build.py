"""`check` and `build` speed now versus a reference commit (default e4fba47, before the lowering
was split into netgen/lowering/), side by side.

    .venv/bin/python benchmarks/check_build.py [resnet50 densenet121 ...] [--ref e4fba47] [--now COMMIT]
        [--repeat 5] [--compile-only] [--no-bytecode]

The reference (and `--now`, when given instead of this checkout) is checked out as a detached
git worktree in a temporary folder, removed at the end. `--ref 39bf88c~1 --now 39bf88c` measures
the split alone;
the default measures everything since. Both trees compile the same blueprint files, the reference's, so only the code
differs. Times are CPU seconds (user + system), not wall-clock: on a shared machine other
processes stretch wall-clock time by whatever they happen to do, CPU time far less. The trees
alternate, and each figure is the minimum of its runs (the least disturbed one):

- `compile`: in a child process per tree, `netgen.compile_blueprint` (load, validate, lower,
  shape-check) timed in a loop: the cost the lowering's structure could change;
- `check` and `build`: the command a user runs (`python -m netgen check|build`), start-up
  included.

The children run with bytecode caching on (PYTHONDONTWRITEBYTECODE removed from their
environment), after one unmeasured build per tree that writes the `.pyc` files, as an installed
netgen runs (as startup.py does): with caching off, every command compiles all the sources it
imports, which measures how much source there is rather than what the code does (`--no-bytecode`
keeps this machine's setting).

It prints seconds and the ratio now / reference (1.00 = as fast; below 1 is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
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
        start = time.process_time()
        netgen.compile_blueprint(path)
        times.append(time.process_time() - start)
    best[path] = min(times)
print(json.dumps(best))
"""


BYTECODE = {"cached": True}  # --no-bytecode sets it off


def child_env(tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if BYTECODE["cached"]:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_times(tree: Path, paths: list[str], repeat: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", COMPILE_TIMER, json.dumps(paths), str(repeat)], cwd=tree,
                         env=child_env(tree), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def command_time(tree: Path, args: list[str], out_dir: Path) -> float:
    """CPU seconds of one command, from the rusage of the finished child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "netgen", *args], cwd=out_dir, env=child_env(tree),
                   capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--ref", default="e4fba47", help="the commit to compare against")
    parser.add_argument("--now", default=None, help="a commit to measure instead of this checkout")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compile-only", action="store_true", help="skip the check and build commands")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE as it is: every command compiles netgen's sources")
    args = parser.parse_args()
    BYTECODE["cached"] = not args.no_bytecode
    with tempfile.TemporaryDirectory() as tmp:
        made = []
        try:
            trees = {}
            for label, commit in (("now", args.now), ("ref", args.ref)):
                if commit is None:
                    trees[label] = ROOT
                    continue
                trees[label] = Path(tmp) / label
                subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(trees[label]), commit],
                               check=True, capture_output=True)
                made.append(trees[label])
            run(trees, args.models, args.repeat, Path(tmp), args.compile_only)
        finally:
            for tree in made:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def run(trees: dict[str, Path], models: list[str], repeat: int, tmp: Path, compile_only: bool) -> None:
    paths = [str(trees["ref"] / "blueprints" / f"{m}.yaml") for m in models]
    best: dict[tuple[str, str, str], float] = {}
    for label, tree in trees.items():  # unmeasured: writes each tree's .pyc files
        command_time(tree, ["build", paths[0], "-o", str(tmp / f"warm-{label}")], tmp)
    for _ in range(repeat):  # alternate the trees; keep each one's best
        for label, tree in trees.items():
            for path, seconds in compile_times(tree, paths, 3).items():
                key = (Path(path).stem, "compile", label)
                best[key] = min(best.get(key, seconds), seconds)
    for _ in range(0 if compile_only else repeat):
        for model, path in zip(models, paths, strict=True):
            for label, tree in trees.items():
                out_dir = tmp / f"out-{label}"
                out_dir.mkdir(exist_ok=True)
                for command, extra in (("check", []), ("build", ["-o", str(out_dir / model)])):
                    seconds = command_time(tree, [command, path, *extra], out_dir)
                    key = (model, command, label)
                    best[key] = min(best.get(key, seconds), seconds)
    print(f"{'model':<20} {'what':<8} {'now cpu s':>10} {'ref cpu s':>10} {'now/ref':>8}")
    for model in models:
        for what in ("compile",) if compile_only else ("compile", "check", "build"):
            now, before = best[(model, what, "now")], best[(model, what, "ref")]
            print(f"{model:<20} {what:<8} {now:10.3f} {before:10.3f} {now / before:8.2f}")


if __name__ == "__main__":
    main()
