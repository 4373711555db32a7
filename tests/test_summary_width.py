"""Tables that fit the terminal: at 80 columns whole columns are left out (and named) so that
no number is cut; at 120 the full summary fits; `--wide` shows every column anyway."""

from __future__ import annotations

from rich.cells import cell_len
from typer.testing import CliRunner

from netgen.analysis.formats import SUMMARY_COLUMNS
from netgen.cli.main import app

ALL_HEADERS = [c.header for c in SUMMARY_COLUMNS]
# Written out: conv1 is 64 filters of 3x7x7, no bias; fc is 2048x1000 weights + 1000 biases;
# 25,557,032 is torchvision's published ResNet-50 parameter count.
RESNET50_NUMBERS = [f"{64 * 3 * 7 * 7:,}", f"{2048 * 1000 + 1000:,}", "25,557,032"]


def run(columns: int, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def header_cells(text: str) -> list[str]:
    row = next(line for line in text.splitlines() if "layer" in line and "┃" in line)
    return [cell.strip() for cell in row.strip().strip("┃").split("┃")]


def widest(text: str) -> int:
    return max(cell_len(line.rstrip()) for line in text.splitlines())


def test_at_80_columns_the_table_fits_and_every_number_is_whole():
    text = run(80, "summary", "resnet50")
    assert widest(text) <= 80
    assert "…" not in text
    for number in RESNET50_NUMBERS:
        assert number in text
    assert header_cells(text) == ["layer", "op", "output", "params", "MACs"]
    assert "left out to fit 80 columns; --wide shows them" in text.replace("\n", " ")


def test_at_120_columns_every_column_is_shown():
    text = run(120, "summary", "resnet50")
    assert widest(text) <= 120
    assert "…" not in text and "left out" not in text
    assert header_cells(text) == ALL_HEADERS


def test_wide_shows_every_column_on_a_narrow_terminal():
    text = run(80, "summary", "resnet50", "--wide")
    assert header_cells(text) == ALL_HEADERS
    assert "…" not in text and "left out" not in text
    for number in RESNET50_NUMBERS:
        assert number in text


def test_deep_paths_wrap_rather_than_cut_numbers():
    # DenseNet-121 at full depth has paths like features.denseblock4.denselayer16.conv2 (38 cells).
    text = run(80, "summary", "densenet121")
    assert widest(text) <= 80
    assert "…" not in text
    assert "7,978,856" in text  # torchvision's published DenseNet-121 parameter count


def test_compare_fits_80_columns():
    text = run(80, "compare", "resnet50", "--set", "num_classes=10")
    assert widest(text) <= 80
    assert "…" not in text
    # fc loses 2048x990 weights and 990 biases
    assert f"{25_557_032 - (2048 * 990 + 990):,}" in text
