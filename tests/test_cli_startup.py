"""Start-up: each command imports only what it needs (issue 17). The timing itself lives in
benchmarks/startup.py; these tests check the imports that the timing depends on."""

from __future__ import annotations

import json
import subprocess
import sys

import typer
from conftest import ROOT

from netgen.cli.main import COMMANDS, load_command

# Run `netgen ARGS` in a fresh interpreter and print the modules it imported.
PROBE = """
import json, sys
from netgen.cli.main import app
try:
    app(sys.argv[1:], prog_name="netgen")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def heavy(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in prefixes or m.startswith(prefixes))


def test_check_imports_neither_torch_nor_renderer_nor_rich():
    modules = imported_by("check", "resnet18")
    assert "netgen.lowering" in modules  # it did compile
    assert heavy(modules, ("torch", "torchvision", "graphviz", "rich", "netgen.render", "netgen.codegen",
                           "netgen.analysis", "netgen.cli.render", "netgen.cli.build")) == []


def test_check_imports_only_the_op_modules_its_network_uses():
    """The registry imports an op's module on first use (netgen/ops/catalog.py): ResNet-18 needs
    conv, bn, relu, maxpool, add, the global pool, flatten and linear."""
    modules = imported_by("check", "resnet18")
    ops = {m.rsplit(".", 1)[1] for m in modules if m.startswith("netgen.ops.")}
    assert ops - {"base", "catalog", "emission", "traits"} == {"activation", "conv", "norm", "pool", "merge",
                                                               "reshape", "linear"}


def test_summary_json_imports_no_renderer_or_torch():
    modules = imported_by("summary", "resnet18", "--json")
    assert "netgen.analysis.summary" in modules
    assert heavy(modules, ("torch", "graphviz", "rich", "netgen.render", "netgen.codegen")) == []


def test_version_and_help_import_no_compiler():
    for args in (["--version"], ["--help"]):
        modules = imported_by(*args)
        assert heavy(modules, ("networkx", "pydantic", "yaml", "netgen.api", "netgen.ops", "netgen.lowering")) == []
        assert [m for m in modules if m.startswith("netgen.cli.") and m != "netgen.cli.main"] == []


def test_help_lists_each_command_with_its_own_help():
    """`--help` lists the commands from COMMANDS without importing them: each entry must be the
    first paragraph of the command's own help, and every command registered must be listed."""
    registered = {}
    for module in sorted({module for module, _ in COMMANDS.values()}):
        holder = typer.Typer()
        __import__(f"netgen.cli.{module}", fromlist=["register"]).register(holder)
        registered.update({name: module for name in typer.main.get_group(holder).commands})
    assert registered == {name: module for name, (module, _) in COMMANDS.items()}
    for name, (_, text) in COMMANDS.items():
        own = load_command(name).help.split("\n\n")[0]
        assert " ".join(own.split()) == text, name


def test_every_command_module_is_listed():
    """A module in netgen/cli with `register(app)` that COMMANDS does not name would never run."""
    with_register = {path.stem for path in (ROOT / "netgen" / "cli").glob("*.py")
                     if "\ndef register(" in path.read_text(encoding="utf-8")}
    assert with_register == {module for module, _ in COMMANDS.values()}


def test_help_is_plain_text_without_rich_and_lists_whole_sentences():
    """`--help` is click's plain help (main.TYPER_SETTINGS): importing rich for typer's panels was
    nearly all of its cost (issue 17). Its command list must still give each command's whole
    sentence, which click cuts at 45 characters unless the short help is set."""
    done = subprocess.run([sys.executable, "-c", PROBE, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "100"})
    modules = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert heavy(modules, ("rich",)) == []
    listing = " ".join(done.stdout.split("Commands:", 1)[1].split())
    for name, (_, sentence) in COMMANDS.items():
        assert f"{name} {sentence}" in listing, name
    assert "╭" not in done.stdout
