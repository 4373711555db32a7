"""Terminal tables that fit the terminal: whole columns are left out, least useful first,
until the table fits, so that no number is ever cut (rich would otherwise shrink every
column and print `9,…`). The first column (a layer or stage path) is the one that may wrap,
as a last resort, when even the essential columns leave it too little room.

`--wide` keeps every column whatever the width; the dropped columns are named under the
table, with that hint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# rich's default box: one rule between columns and at each side, one space of padding each side.
_BORDER, _PADDING = 1, 2


@dataclass(frozen=True)
class Column:
    header: str
    justify: Literal["left", "right"] = "right"
    rank: int = 0  # 0 is kept always; higher ranks are dropped first


def table_width(widths: list[int]) -> int:
    return sum(w + _PADDING for w in widths) + _BORDER * (len(widths) + 1)


def natural_widths(columns: list[Column], rows: list[list[str]]) -> list[int]:
    from rich.cells import cell_len  # rich only where a table prints: not for --json, --csv

    return [max([cell_len(c.header), *(cell_len(r[i]) for r in rows)]) for i, c in enumerate(columns)]


def fitting_columns(columns: list[Column], rows: list[list[str]], width: int, wide: bool = False) -> list[int]:
    """Indices of the columns to show, in their order: all of them when they fit (or `wide`),
    else without the highest ranks until the rest fits; rank-0 columns always stay."""
    kept = list(range(len(columns)))
    if wide:
        return kept
    widths = natural_widths(columns, rows)
    droppable = sorted((i for i in kept if columns[i].rank > 0), key=lambda i: (-columns[i].rank, -i))
    for index in droppable:
        if table_width([widths[i] for i in kept]) <= width:
            break
        kept.remove(index)
    return kept


def fitted_table(columns: list[Column], rows: list[list[str]], width: int, wide: bool = False, title: str = "",
                 row_styles: list[str | None] | None = None):
    """(rich Table, names of the columns left out, the width it needs unwrapped)."""
    from rich.table import Table

    kept = fitting_columns(columns, rows, width, wide)
    widths = natural_widths(columns, rows)
    needed = table_width([widths[i] for i in kept])
    table = Table(title=title or None, title_justify="left")
    for i in kept:
        column = columns[i]
        # Every column but the first keeps its natural width: a number is never folded or cut.
        table.add_column(column.header, justify=column.justify, no_wrap=i != 0, min_width=None if i == 0 else widths[i],
                         overflow="fold")
    for r, row in enumerate(rows):
        table.add_row(*(row[i] for i in kept), style=row_styles[r] if row_styles else None)
    left_out = [columns[i].header for i in range(len(columns)) if i not in kept]
    return table, left_out, needed


def left_out_note(left_out: list[str], width: int) -> str:
    if not left_out:
        return ""
    return f"({', '.join(left_out)}: left out to fit {width} columns; --wide shows them)"
