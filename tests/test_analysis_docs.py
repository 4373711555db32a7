"""The outputs quoted in docs/lecture-walkthrough.md stay true: every fenced block that
starts with `$ netgen ...` is rerun and must match (trailing spaces aside)."""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from netgen.cli.main import app

DOC = ROOT / "docs" / "lecture-walkthrough.md"
BLOCKS = re.findall(r"```\n(\$ netgen [^\n]*)\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_walkthrough_quotes_commands():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("command,expected", BLOCKS, ids=[c[9:60] for c, _ in BLOCKS])
def test_quoted_output_is_current(monkeypatch, command, expected):
    monkeypatch.chdir(ROOT)
    if not expected.strip():
        pytest.skip("command only, no output quoted")
    result = CliRunner().invoke(app, shlex.split(command)[2:])
    assert result.exit_code == 0, result.output
    actual = "\n".join(line.rstrip() for line in result.output.rstrip().splitlines())
    assert actual == expected.rstrip()
