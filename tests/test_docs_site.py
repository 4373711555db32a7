"""The docs site builds (`mkdocs build --strict`: a broken link or a page missing from the
nav fails), and every command the docs show runs.

A command is a line of a fenced ```sh block, or a `$ ` line of an untagged block (a command
quoted with its output; when that output is an error report, the command must exit 2).
A ```python block is a snippet and runs as one script.
A block that cannot run in CI carries `<!-- docs-test: skip: WHY -->` on the line before
it, and WHY must say something. An untagged block that starts with a command is a mistake:
tag it ```sh, or ```text for a synopsis.

Commands run with bash in a scratch folder that links `blueprints/` and `docs/` from the
checkout, with `netgen` and `python` meaning this checkout's netgen and this interpreter.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT

DOCS = ROOT / "docs"

FENCE = re.compile(r"(?:<!-- docs-test: skip: (?P<why>[^\n]*?) -->\n)?^```(?P<lang>[A-Za-z]*)[^\n]*\n(?P<body>.*?)^```",
                   re.S | re.M)
# Pages whose commands another test already reruns, comparing the output quoted.
RERUN_ELSEWHERE = {"docs/lecture-walkthrough.md": "tests/test_analysis_docs.py reruns every command and compares"}
COMMAND_START = re.compile(r"(netgen|python3?|pip|\.venv/bin/\S+|scripts/\S+|[A-Z_]+=\S*)\s")


@dataclass
class Block:
    page: str
    line: int
    lang: str
    commands: list[str]
    skip: str | None
    expect_error: bool

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _logical_lines(body: str) -> list[str]:
    lines = body.replace("\\\n", " ").splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks() -> list[Block]:
    found = []
    for page in pages():
        text = page.read_text()
        name = page.relative_to(ROOT).as_posix()
        for match in FENCE.finditer(text):
            lang, body, why = match["lang"], match["body"], match["why"]
            line = text.count("\n", 0, match.start("lang")) + 1
            if lang == "sh":
                found.append(Block(name, line, lang, _logical_lines(body), why, False))
            elif lang == "python":
                found.append(Block(name, line, lang, [body], why, False))
            elif not lang and any(row.startswith("$ ") for row in body.splitlines()):
                commands = [row[2:] for row in body.splitlines() if row.startswith("$ ")]
                found.append(Block(name, line, "console", commands, why, "error[" in body))
            elif not lang and COMMAND_START.match(body.lstrip()):
                found.append(Block(name, line, "untagged", [body.splitlines()[0]], why, False))
    return found


BLOCKS = blocks()
# README's first block is the set-up and the test suite itself: .ci/run runs it (test_repo checks it).
README_FIRST = next(b for b in BLOCKS if b.page == "README.md")


def test_docs_show_commands_and_every_page_is_scanned():
    assert sum(len(b.commands) for b in BLOCKS) >= 20
    assert {b.page for b in BLOCKS} >= {"README.md", "docs/index.md", "docs/diagrams.md", "docs/editors.md"}


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_every_command_in_the_docs_runs(block, tmp_path):
    assert block.lang != "untagged", f"{block.id}: tag this block ```sh (a command) or ```text (a synopsis)"
    if block is README_FIRST:
        pytest.skip(".ci/run runs the README's set-up and test commands")
    if block.page in RERUN_ELSEWHERE:
        pytest.skip(RERUN_ELSEWHERE[block.page])
    if block.skip is not None:
        assert len(block.skip.split()) >= 3, f"{block.id}: say why the block cannot run"
        pytest.skip(block.skip)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # this checkout's netgen, after whatever the block itself puts on PYTHONPATH
    path_line = f'export PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}{ROOT}"\n'
    for name, target in (("netgen", f'"{sys.executable}" -m netgen'), ("python", f'"{sys.executable}"')):
        (bin_dir / name).write_text(f'#!/bin/sh\n{path_line}exec {target} "$@"\n')
        (bin_dir / name).chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    for linked in ("blueprints", "docs"):
        (work / linked).symlink_to(ROOT / linked)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "NO_MKDOCS_2_WARNING": "1"}
    for name in ("COLUMNS", "PYTHONPATH", "NETGEN_ALLOW_PLUGINS"):
        env.pop(name, None)
    # an sh block is one script (an `export` holds for the lines after it); quoted commands run one by one
    scripts = ["set -e -o pipefail\n" + "\n".join(block.commands)] if block.lang == "sh" else block.commands
    for script in scripts:
        command = ["python", "-c", script] if block.lang == "python" else ["bash", "-o", "pipefail", "-c", script]
        run = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        expected = 2 if block.expect_error else 0
        assert run.returncode == expected, f"{block.id}: `{script}` exited {run.returncode}\n{run.stdout[-2000:]}" \
                                           f"\n{run.stderr[-2000:]}"


def test_the_site_builds_strictly(tmp_path):
    site = tmp_path / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(ROOT / "mkdocs.yml"),
               "-d", str(site)]
    run = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    for page in ("index.html", "language/index.html", "ops/index.html", "prototyping/index.html",
                 "lecture-walkthrough/index.html", "gallery/index.html", "editors/index.html"):
        assert (site / page).is_file(), page
    assert (site / "gallery" / "resnet50.overview.svg").is_file()
    assert "conv" in (site / "ops" / "index.html").read_text()


def _gallery_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gallery_script", ROOT / "scripts" / "gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gallery_index_lists_every_library_blueprint_and_its_files_exist():
    """A model added to blueprints/ without `scripts/gallery.py NAME` fails here, so the gallery
    cannot fall behind the library again (six segmentation models had)."""
    from netgen.api import library_blueprints

    rows = _gallery_script().index_rows()
    library = sorted(p.stem for p in library_blueprints())
    missing = [name for name in library if name not in rows]
    assert not missing, f"not in docs/gallery/README.md (run scripts/gallery.py {' '.join(missing)}): {missing}"
    assert sorted(rows) == library, f"rows for models not in the library: {sorted(set(rows) - set(library))}"
    for name, cells in rows.items():
        assert len(cells) == 3, name
        assert "slide" in cells[0] or "/" in cells[0], f"{name}: no overview picture"
        for svg in re.findall(r"\]\(([^)]+\.svg)\)", " ".join(cells)):
            assert (DOCS / "gallery" / svg).is_file() and (DOCS / "gallery" / svg).with_suffix(".png").is_file(), svg


def test_the_gallery_review_totals_are_the_gallerys():
    """docs/diagrams.md's Gallery review table is what `scripts/gallery.py --review` counts."""
    printed = _gallery_script().review_totals().splitlines()
    page = (DOCS / "diagrams.md").read_text(encoding="utf-8")
    review = page[page.index("### Gallery review"):]
    assert f"({printed[0]}," in review, printed[0]
    for row in printed[3:]:
        assert row in review, f"stale Gallery review row; scripts/gallery.py --review prints:\n{row}"
