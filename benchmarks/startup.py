"""Start-up cost of the commands a user waits on, as whole-process CPU time, side by side with
the baselines the targets are stated against (issue 17):

    .venv/bin/python benchmarks/startup.py [--repeat 15] [--model resnet152] [--against OLD_TREE]

- `check MODEL` and `summary MODEL --json` against `python -c "import networkx, pydantic, yaml"`
  (the dependencies the design requires): netgen's own cost, target <= 150 ms and <= 250 ms;
- `--help` and `--version` against `python -c "import typer"` (`python -c pass` + typer):
  target <= 100 ms.

CPU time (user + system of the child, from `getrusage(RUSAGE_CHILDREN)`) rather than wall
time, so that other processes on a shared machine disturb it less; the commands are run in
turn, round after round, so that each sees the same machine state, and each figure is the
median of its rounds. Run from the repository root: the child imports this tree's `netgen`.

`--against` runs another tree's netgen (a worktree of an older commit) in the same rounds,
command after command, and prints both trees' own cost and their ratio: a paired comparison that
the machine's changing load disturbs far less than two separate runs.

`--instructions` counts instructions instead (valgrind's cachegrind, one run per command and
tree after the warm-up): the same figure however loaded the machine is, so two trees compare
to the instruction even where CPU times of identical runs swing by a third. It does not count
what a cache miss costs (the garbage collector's walks cost more time than their
instructions), so it complements the times rather than replacing them.

The children run with bytecode caching on (PYTHONDONTWRITEBYTECODE removed from their
environment) after one unmeasured warm-up round, as an installed netgen runs (pip compiles
`.pyc` files at install): with caching off, compiling netgen's sources costs ~0.3 s a run.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
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


def measure(cmds: dict[str, list[str]], repeat: int, cached: bool, roots: list[Path]) -> list[dict[str, float]]:
    """Median CPU seconds of each command in each tree; every round runs every command in every
    tree in turn, so that all of them see the same machine state."""
    env = dict(os.environ)
    if cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    times: list[dict[str, list[float]]] = [{name: [] for name in cmds} for _ in roots]
    for round_ in range(repeat + 1):
        for name, argv in cmds.items():
            for tree, root in enumerate(roots):
                before = child_cpu()
                done = subprocess.run(argv, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                if done.returncode != 0:
                    sys.exit(f"{name} failed in {root}: {done.stderr.decode()[-500:]}")
                if round_:  # round 0 warms the caches (and writes the .pyc files)
                    times[tree][name].append(child_cpu() - before)
    return [{name: statistics.median(values) for name, values in tree.items()} for tree in times]


def instructions(cmds: dict[str, list[str]], roots: list[Path]) -> list[dict[str, float]]:
    """Millions of instructions of each command in each tree (cachegrind's `I refs`)."""
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    counts: list[dict[str, float]] = [{} for _ in roots]
    for name, argv in cmds.items():
        for tree, root in enumerate(roots):
            subprocess.run(argv, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # .pyc
            done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                                   "--cachegrind-out-file=/dev/null", *argv], cwd=root, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
            if found is None:
                sys.exit(f"{name}: no instruction count from valgrind: {done.stderr[-500:]}")
            counts[tree][name] = int(found.group(1).replace(",", "")) / 1e6
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--model", default="resnet152")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="The tree whose netgen runs (default: this one), e.g. a worktree of an older commit.")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="Keep PYTHONDONTWRITEBYTECODE as it is: every run compiles netgen's sources.")
    parser.add_argument("--against", type=Path, default=None,
                        help="Another tree (e.g. a worktree of main) measured in the same rounds, for ratios.")
    parser.add_argument("--instructions", action="store_true",
                        help="Count instructions under valgrind (one run each) instead of timing.")
    args = parser.parse_args()
    cmds = commands(args.model)
    roots = [args.root] + ([args.against] if args.against else [])
    if args.instructions:
        print_instructions(cmds, roots, args)
        return
    results = [{name: 1000 * t for name, t in tree.items()}
               for tree in measure(cmds, args.repeat, not args.no_bytecode, roots)]
    ms = results[0]
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
    if args.against:
        old = results[1]
        print(f"this tree: {args.root}; against: {args.against}")
        print("| command | baseline | own ms, this tree | own ms, against | this / against | target ms |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, base, target in pairs:
            own, own_old = ms[name] - ms[base], old[name] - old[base]
            ratio = f"{own / own_old:.2f}" if own > 0 and own_old > 0 else "-"
            print(f"| {name} | {base} | {own:.0f} | {own_old:.0f} | {ratio} | {target} |")
        return
    print("| command | CPU ms | baseline | baseline ms | netgen's own ms | target ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, base, target in pairs:
        own = ms[name] - ms[base]
        print(f"| {name} | {ms[name]:.0f} | {base} | {ms[base]:.0f} | {own:.0f} | {target} |")


def print_instructions(cmds: dict[str, list[str]], roots: list[Path], args) -> None:
    counts = instructions(cmds, roots)
    print("millions of instructions (cachegrind), one run each after a warm-up; own = command - baseline")
    print(f"python -c pass: {counts[0]['python -c pass']:.0f}, import typer: {counts[0]['import typer']:.0f}, "
          f"import networkx, pydantic, yaml: {counts[0]['import networkx, pydantic, yaml']:.0f}")
    against = f" | own, {args.against} | this / against" if args.against else ""
    print(f"| command | baseline | own, {args.root}{against} |")
    print("| --- | --- | --- |" + (" --- | --- |" if args.against else ""))
    for name, base in ((f"check {args.model}", "import networkx, pydantic, yaml"),
                       (f"summary {args.model} --json", "import networkx, pydantic, yaml"),
                       ("--help", "import typer"), ("--version", "import typer")):
        own = [tree[name] - tree[base] for tree in counts]
        row = f"| {name} | {base} | {own[0]:.0f} |"
        if args.against:
            row += f" {own[1]:.0f} | {own[0] / own[1]:.2f} |" if own[1] > 0 else f" {own[1]:.0f} | - |"
        print(row)


if __name__ == "__main__":
    main()
