"""Start-up cost of the commands a user waits on, as whole-process CPU time, side by side with
the baselines the targets are stated against (issue 17):

    .venv/bin/python benchmarks/startup.py [--repeat 15] [--model resnet152]

- `check MODEL` and `summary MODEL --json` against `python -c "import networkx, pydantic, yaml"`
  (the dependencies the design requires): netgen's own cost, target <= 150 ms and <= 250 ms;
- `--help` and `--version` against `python -c "import typer"` (`python -c pass` + typer):
  target <= 100 ms.

CPU time (user + system of the child, from `getrusage(RUSAGE_CHILDREN)`) rather than wall
time, so that other processes on a shared machine disturb it less; the commands are run in
turn, round after round, so that each sees the same machine state, and each figure is the
median of its rounds. Run from the repository root: the child imports this tree's `netgen`.

The children run with bytecode caching on (PYTHONDONTWRITEBYTECODE removed from their
environment) after one unmeasured warm-up round, as an installed netgen runs (pip compiles
`.pyc` files at install): with caching off, compiling netgen's sources costs ~0.3 s a run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commands(model: str) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "python -c pass": [py, "-c", "pass"],
        "import typer": [py, "-c", "import typer"],
        "import networkx, pydantic, yaml": [py, "-c", "import networkx, pydantic, yaml"],
        f"check {model}": [py, "-m", "netgen", "check", model],
        f"summary {model} --json": [py, "-m", "netgen", "summary", model, "--json"],
        "--help": [py, "-m", "netgen", "--help"],
        "--version": [py, "-m", "netgen", "--version"],
    }


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(cmds: dict[str, list[str]], repeat: int, cached: bool, root: Path) -> dict[str, float]:
    env = dict(os.environ)
    if cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for round_ in range(repeat + 1):
        for name, argv in cmds.items():
            before = child_cpu()
            done = subprocess.run(argv, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if done.returncode != 0:
                sys.exit(f"{name} failed: {done.stderr.decode()[-500:]}")
            if round_:  # round 0 warms the caches (and writes the .pyc files)
                times[name].append(child_cpu() - before)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--model", default="resnet152")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="The tree whose netgen runs (default: this one), e.g. a worktree of an older commit.")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="Keep PYTHONDONTWRITEBYTECODE as it is: every run compiles netgen's sources.")
    args = parser.parse_args()
    cmds = commands(args.model)
    ms = {name: 1000 * t for name, t in measure(cmds, args.repeat, not args.no_bytecode, args.root).items()}
    deps, typer_base = ms["import networkx, pydantic, yaml"], ms["import typer"]
    pairs = [
        (f"check {args.model}", "import networkx, pydantic, yaml", 150),
        (f"summary {args.model} --json", "import networkx, pydantic, yaml", 250),
        ("--help", "import typer", 100),
        ("--version", "import typer", 100),
    ]
    print(f"median CPU ms over {args.repeat} alternating rounds (python -c pass: {ms['python -c pass']:.0f}, "
          f"import typer: {typer_base:.0f}, import networkx, pydantic, yaml: {deps:.0f})")
    print(f"bytecode cache: {'off' if args.no_bytecode else 'on'}")
    print("| command | CPU ms | baseline | baseline ms | netgen's own ms | target ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, base, target in pairs:
        own = ms[name] - ms[base]
        print(f"| {name} | {ms[name]:.0f} | {base} | {ms[base]:.0f} | {own:.0f} | {target} |")


if __name__ == "__main__":
    main()
