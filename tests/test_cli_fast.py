"""The `netgen` entry point's fast path (netgen/cli/fast.py): `check` and `summary --json` answered
without typer must print and exit exactly as the typer commands do, and anything the fast path
does not know must reach typer unchanged."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

from netgen.cli.fast import parse

# Both entry points in a fresh interpreter: the fast one (`python -m netgen`, the console
# script's fast.run) and the typer app alone (main.run), with the modules imported at exit.
ENTRY = """
import json, sys
sys.argv[0] = "netgen"
from netgen.cli.{module} import run
try:
    run()
finally:
    sys.stdout.flush()
    print("\\nMODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def run_entry(module: str, args: list[str], cwd) -> tuple[int, str, str, set[str]]:
    done = subprocess.run([sys.executable, "-c", ENTRY.format(module=module), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    stderr, _, modules = done.stderr.rpartition("\nMODULES ")
    return done.returncode, done.stdout, stderr, set(json.loads(modules))


@pytest.fixture(scope="module")
def bad_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fast")
    (folder / "bad.yaml").write_text("netgen: 1\ninput: [3, 8, 8]\nnetwork:\n  - conv: {out: 4, k: 3, strid: 2}\n")
    (folder / "broken.yaml").write_text("netgen: 1\nnetwork: [relu\n")
    return folder


CASES = [
    ["check", "resnet18"],
    ["check", "resnet18", "--set", "num_classes=10", "-i", "3x32x32"],
    ["check", "--input=3x64x64", "resnet18", "-s", "num_classes=7", "--set=layers=[1,1,1,1]"],
    ["check", "resnet18", "--set", "num_classes=ten"],
    ["check", "resnet18", "--input", "3by32", "--format", "json"],
    ["check", "no_such_model"],
    ["check", "bad.yaml"],
    ["check", "broken.yaml", "--format=json"],
    ["summary", "lenet5", "--json"],
    ["summary", "--json", "resnet18", "--set", "num_classes=10", "--input", "3x32x32"],
    ["summary", "bad.yaml", "--json"],
    ["--version"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) for c in CASES])
def test_fast_path_prints_and_exits_as_the_typer_command(args, bad_file):
    assert parse(args) is not None  # the case does take the fast path
    fast = run_entry("fast", args, bad_file)
    slow = run_entry("main", args, bad_file)
    assert fast[:3] == slow[:3]
    assert fast[0] in (0, 2) and (fast[1] or fast[2])
    assert not any(m.split(".")[0] in ("typer", "click", "rich") for m in fast[3])  # the point of it
    assert "typer" in slow[3]


@pytest.mark.parametrize("args", [
    [], ["--help"], ["check"], ["check", "--help"], ["check", "resnet18", "-h"], ["check", "a", "b"],
    ["check", "resnet18", "--set"], ["check", "resnet18", "--set", "--input"], ["check", "resnet18", "--bogus"],
    ["check", "resnet18", "-sk=v"], ["check", "resnet18", "--"], ["summary", "resnet18"],
    ["summary", "resnet18", "--json", "--csv"], ["summary", "resnet18", "--json", "--batch", "2"],
    ["build", "resnet18", "-o", "out"], ["--version", "check"], ["check", "resnet18", "--version"],
])
def test_anything_else_goes_to_typer(args):
    assert parse(args) is None


def test_fast_path_falls_back_for_options_it_does_not_know(bad_file):
    code, out, err, modules = run_entry("fast", ["summary", "lenet5", "--json", "--batch", "2"], bad_file)
    assert code == 0 and json.loads(out)["batch"] == 2
    assert "typer" in modules


GC_PROBE = """
import gc, sys
sys.argv = ["netgen", *sys.argv[1:]]
from netgen.cli.fast import run
try:
    run()
finally:
    sys.stdout.flush()
    print(f"\\nGC {gc.isenabled()} {gc.get_freeze_count()}", file=sys.stderr)
"""


@pytest.mark.parametrize("args, enabled", [
    (["check", "lenet5"], True),  # the fast path: frozen after its imports, then the compile with the collector on
    (["list"], True),  # a typer command: frozen in its callback (main.load_command)
    (["--help"], False),  # no command ran: frozen at exit, the collector left off
])
def test_start_up_runs_without_the_collector_and_freezes_what_it_imported(args, enabled):
    """Start-up's objects live until exit: they are frozen (never walked by a collection) once the
    command's work begins, and the work runs with the collector on (fast.start_work)."""
    done = subprocess.run([sys.executable, "-c", GC_PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    _, state = done.stderr.rsplit("\nGC ", 1)
    is_enabled, frozen = state.split()
    assert done.returncode == 0 and is_enabled == str(enabled)
    assert int(frozen) > 10_000  # the imports' modules, classes and functions
