"""What a user who installs the built package gets: the wheel (built from the sdist, as pip
would from the index) installed into a fresh virtual environment, used from a folder that
is not the checkout. One build and one install for the whole module.

The fresh venv sees the dependencies (torch, pydantic, ...) of the interpreter running the
tests through a .pth line, and the wheel is installed with --no-deps, so the test is quick
and offline; that .pth adds the folders only, so the checkout's editable install (a finder
loaded from a .pth of its own) does not come along.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import BLUEPRINTS, ROOT

DIST = "netgen-blueprints"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(wheel, sdist): `python -m build` makes the sdist, then the wheel from the unpacked sdist."""
    out = tmp_path_factory.mktemp("dist")
    run = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def venv(built, tmp_path_factory):
    """A fresh venv with the wheel installed; returns its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    fresh_python = bin_dir / "python"
    site = subprocess.run([str(fresh_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "_test_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    run = subprocess.run([sys.executable, "-m", "pip", "--python", str(fresh_python), "install", "--no-deps",
                          "--no-index", "--disable-pip-version-check", "-q", str(built[0])],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return bin_dir


def run_in(folder: Path, *command: str | Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NETGEN_PATH")}
    return subprocess.run([str(c) for c in command], cwd=folder, capture_output=True, text=True,
                          env={**clean, **env}, timeout=300)


def library_names() -> set[str]:
    return {p.stem for p in BLUEPRINTS.glob("*.yaml")}


def test_the_wheel_carries_the_library_license_and_type_marker(built):
    names = set(zipfile.ZipFile(built[0]).namelist())
    shipped = {n for n in names if n.startswith("netgen/blueprints/") and n.endswith(".yaml")}
    expected = {f"netgen/blueprints/{p.relative_to(BLUEPRINTS).as_posix()}" for p in BLUEPRINTS.rglob("*.yaml")}
    assert shipped == expected
    assert "netgen/py.typed" in names
    assert "netgen/blueprints/netgen.schema.json" in names  # what the library files' modelines name
    modules = {f"netgen/{p.relative_to(ROOT / 'netgen').as_posix()}" for p in (ROOT / "netgen").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules <= names, sorted(modules - names)
    assert not any("__pycache__" in n for n in names)
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    metadata = zipfile.ZipFile(built[0]).read(meta).decode()
    assert f"Name: {DIST}\n" in metadata
    assert "License-Expression: MIT" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_the_sdist_carries_what_a_wheel_is_built_from(built):
    members = {name.split("/", 1)[1] for name in tarfile.open(built[1]).getnames() if "/" in name}
    for needed in ("pyproject.toml", "setup.py", "LICENSE", "README.md", "netgen/library.py", "netgen/py.typed",
                   "blueprints/resnet50.yaml", "blueprints/lib/resnet_blocks.yaml"):
        assert needed in members, needed


def test_netgen_list_shows_the_whole_library_from_another_folder(venv, tmp_path):
    run = run_in(tmp_path, venv / "netgen", "list")
    assert run.returncode == 0, run.stderr
    listed = {line.split()[0] for line in run.stdout.splitlines() if line.strip()}
    assert listed == library_names()


def test_version_matches_the_installed_distribution(venv, tmp_path):
    run = run_in(tmp_path, venv / "netgen", "--version")
    assert run.returncode == 0, run.stderr
    installed = run_in(tmp_path, venv / "python", "-c", f"import importlib.metadata as m; print(m.version({DIST!r}))")
    assert run.stdout.strip() == f"netgen {installed.stdout.strip()}"


def test_build_writes_the_module_from_another_folder(venv, tmp_path):
    run = run_in(tmp_path, venv / "netgen", "build", "resnet50", "-o", "out/")
    assert run.returncode == 0, run.stderr
    source = (tmp_path / "out" / "resnet50.py").read_text()
    assert "class ResNet50(nn.Module)" in source or "class Resnet50(nn.Module)" in source


def test_load_from_another_folder_uses_the_installed_package(venv, tmp_path):
    # 25,557,032 parameters: torchvision's published figure for ResNet-50.
    script = (
        "import json, netgen\n"
        "m = netgen.load('resnet50')\n"
        "print(json.dumps({'file': netgen.__file__, 'library': str(netgen.library.root()),"
        " 'params': sum(p.numel() for p in m.parameters())}))\n"
    )
    run = run_in(tmp_path, venv / "python", "-c", script)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    env_root = venv.parent.resolve()
    assert Path(result["file"]).resolve().is_relative_to(env_root)
    assert Path(result["library"]).resolve().is_relative_to(env_root)
    assert result["params"] == 25_557_032


def test_a_users_blueprint_builds_on_the_installed_library(venv, tmp_path):
    # the example: a variant of the library's ResNet-50 and a network of the library's
    # blocks, written in a folder that has nothing else. 25,557,032 is torchvision's ResNet-50;
    # 10 classes instead of 1000 drop 2048 x 990 weights and 990 biases from fc.
    (tmp_path / "mine.yaml").write_text("netgen: 1\nextends: netgen:resnet50\nparams: {num_classes: 10}\n")
    run = run_in(tmp_path, venv / "netgen", "check", "mine.yaml")
    assert run.returncode == 0, run.stderr
    assert f"{25_557_032 - 2048 * 990 - 990:,} parameters" in run.stdout
    (tmp_path / "blocks.yaml").write_text(
        "netgen: 1\ninput: [3, 32, 32]\nuse: [netgen:lib/resnet_blocks.yaml]\nnetwork:\n"
        "  - conv: {out: 64, k: 3, pad: 1, bias: false}\n  - basic_block: {planes: 64}\n  - gap\n  - flatten\n"
        "  - linear: {out: 10}\n")
    run = run_in(tmp_path, venv / "netgen", "check", "blocks.yaml")
    assert run.returncode == 0, run.stderr
    # conv 3->64 3x3; a basic block: two 3x3 64->64 convs and their BNs; fc 64->10 with bias
    assert f"{3 * 64 * 9 + 2 * (64 * 64 * 9 + 2 * 64) + 64 * 10 + 10:,} parameters" in run.stdout


def test_the_installed_package_prints_the_schema_and_loads_text(venv, tmp_path):
    schema = run_in(tmp_path, venv / "netgen", "schema")
    assert schema.returncode == 0 and json.loads(schema.stdout)["title"] == "netgen blueprint"
    shipped = run_in(tmp_path, venv / "python", "-c",
                     "import netgen.library as l; print((l.root() / 'netgen.schema.json').read_text(), end='')")
    assert shipped.stdout == schema.stdout
    script = ("import netgen\n"
              "m = netgen.loads('netgen: 1\\ninput: [3, 8, 8]\\nnetwork: [{conv: {out: 4, k: 3}}]\\n')\n"
              "print(sum(p.numel() for p in m.parameters()))\n")
    run = run_in(tmp_path, venv / "python", "-c", script)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(3 * 4 * 9 + 4)


def test_bash_completion_offers_the_commands(venv, tmp_path):
    shown = run_in(tmp_path, venv / "netgen", "--show-completion", "bash")
    assert shown.returncode == 0 and "_NETGEN_COMPLETE" in shown.stdout, shown.stdout + shown.stderr
    # What the installed bash function does on `netgen bu<TAB>`.
    run = run_in(tmp_path, venv / "netgen", _NETGEN_COMPLETE="complete_bash", COMP_WORDS="netgen bu", COMP_CWORD="1")
    assert run.stdout.split() == ["build"], run.stdout + run.stderr
    # `netgen build resnet1<TAB>`: the library's names, from the installed package
    run = run_in(tmp_path, venv / "netgen", _NETGEN_COMPLETE="complete_bash", COMP_WORDS="netgen build resnet1",
                 COMP_CWORD="2")
    assert set(run.stdout.split()) == {n for n in library_names() if n.startswith("resnet1")}, run.stdout + run.stderr
