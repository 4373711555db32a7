"""Output formats of summaries and comparisons: rich terminal tables, JSON, CSV, Markdown.

Every format reads the same `Summary`/`Comparison`; none computes anything. Exact integers
go to JSON and CSV; the terminal and Markdown tables round to three significant figures
with SI prefixes (k = 10^3, M = 10^6, G = 10^9; memory in decimal kB/MB/GB).
"""

from __future__ import annotations

import csv
import io

from ..json_text import dumps_indented
from ..shapes import format_shape
from .compare import Comparison
from .layers import Row
from .summary import Summary
from .terminal import Column, fitted_table, left_out_note

CSV_COLUMNS = [
    "path", "op", "kernel", "stride", "dilation", "output_shape", "params", "buffers", "macs", "flops",
    "other_flops", "output_bytes", "activation_bytes", "rf_size", "rf_stride", "rf_global", "ops", "training_only",
    "product_macs",
]


# -- numbers ---------------------------------------------------------------------------
def si(value: float, unit: str = "") -> str:
    """`15470264320` -> `15.5 G`; small values stay exact."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            scaled = value / factor
            digits = 0 if scaled >= 100 else 1 if scaled >= 10 else 2
            return f"{sign}{scaled:.{digits}f} {prefix}{unit}".rstrip()
    return f"{sign}{value:g} {unit}".rstrip()


def human_bytes(n: int) -> str:
    return si(n, "B")


def signed(value: int, kind: str) -> str:
    text = human_bytes(value) if kind == "bytes" else si(value)
    return ("+" + text) if value > 0 else text


def percent(a: int, b: int) -> str:
    if a == 0:
        return "" if b == 0 else "new"
    return f"{(b - a) / a * 100:+.1f}%"


def shape_text(shape) -> str:
    return format_shape(shape) if shape else ""


def _pair_text(pair) -> str:
    return "" if pair is None else "x".join(str(v) for v in pair)


# -- summary ---------------------------------------------------------------------------
def to_json(summary: Summary, depth: int | None = None, budget: int | None = None) -> str:
    data = summary.as_json(depth)
    if budget is not None:
        data["memory"]["training"]["fit"] = {"budget": budget, "largest_batch": summary.largest_batch(budget)}
    return dumps_indented(data)


def to_csv(summary: Summary, depth: int | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in summary.rows_at_depth(depth):
        rf = r.rf.as_json() if r.rf else None
        writer.writerow([
            r.path, r.op, _pair_text(r.kernel), _pair_text(r.stride), _pair_text(r.dilation),
            "x".join(map(str, r.output_shape)), r.params, r.buffers, r.macs, r.flops, r.other_flops,
            r.output_bytes, r.activation_bytes,
            _pair_text(rf["size"]) if rf else "", _pair_text(rf["stride"]) if rf else "",
            bool(rf and rf["global"]), r.count, r.training_only, r.product_macs,
        ])
    return buffer.getvalue()


def total_lines(summary: Summary) -> list[tuple[str, str]]:
    """(label, value) pairs of the totals block, shared by the terminal and Markdown."""
    t = summary.training
    s = summary
    ins = ", ".join(format_shape(shape) for shape in s.inputs)
    outs = ", ".join(format_shape(shape) for shape in s.outputs)
    lines = [
        ("input → output", f"{ins} → {outs}"),
        ("params", f"{s.params:,} trainable, {s.buffers:,} non-trainable (buffers)"),
        ("MACs", f"{s.macs:,} ({si(s.macs)}): multiply-accumulates, bias excluded (torchvision's GFLOPS)"),
    ]
    if s.product_macs:
        # where a transformer's compute goes: the learned projections, and the products that grow with N²
        weights = s.macs - s.product_macs
        lines += [
            ("  with weights", f"{weights:,} ({si(weights)}): conv, linear, attention's q/k/v and output projections"),
            ("  act×act", f"{s.product_macs:,} ({si(s.product_macs)}): two activations multiplied, attention's QKᵀ "
                            "and AV"),
        ]
    lines += [
        ("FLOPs", f"{s.flops:,} ({si(s.flops)}) = 2 × MACs"),
        ("other FLOPs", f"{s.other_flops:,} ({si(s.other_flops)}): norm, activation, pool, merge; not in FLOPs"),
    ]
    if s.training_only_macs:
        lines.append(("training-only MACs", f"{s.training_only_macs:,}: ops that run only in training, not above"))
    lines += [
        ("parameter memory", parameter_memory_text(s)),
        ("activation memory", (f"{human_bytes(s.activation_bytes)}: input + new tensors of one forward pass, "
                               f"batch {s.batch}, {s.dtype}")),
        ("inference peak", (f"{human_bytes(s.inference_peak_bytes + s.param_bytes)} = weights "
                            f"{human_bytes(s.param_bytes)} + live activations {human_bytes(s.inference_peak_bytes)}")),
        *training_lines(t),
    ]
    return lines


def parameter_memory_text(s) -> str:
    """How the parameter memory is made up; int64 buffers, which no dtype casts, named apart."""
    if not s.int64_buffers:
        return f"{human_bytes(s.param_bytes)}: (params + buffers) × {s.element_bytes} B ({s.dtype})"
    return (f"{human_bytes(s.param_bytes)}: (params + float buffers) × {s.element_bytes} B ({s.dtype}) "
            f"+ {s.int64_buffers:,} int64 buffers × 8 B")


def training_lines(t) -> list[tuple[str, str]]:
    """The training plan (memory.py), one part per line."""
    precision = "float32" if t.dtype == "float32" else f"{t.dtype} autocast"
    return [
        ("training memory", f"{human_bytes(t.total)} planned: batch {t.batch}, {precision}, {t.optimizer}"),
        ("  weights + grads", f"{human_bytes(t.weights + t.buffers)} + {human_bytes(t.gradients)} (float32)"),
        ("  optimizer state", f"{human_bytes(t.optimizer_state)}"),
        ("  saved activations", f"{human_bytes(t.saved_activations)}: kept by autograd for backward"),
        ("  largest transient", f"{human_bytes(t.transient)}: one op's gradients, or the optimizer's"),
        ("  estimated peak", f"{human_bytes(t.peak)}: the parts that are live at once"),
    ]


def training_text(summary: Summary, budget: int | None = None) -> str:
    """`netgen summary --train [--fit SIZE]`: the training plan, and the largest batch that fits."""
    lines = [(f"{summary.name}", f"({summary.source})"), *training_lines(summary.training)]
    if budget is not None:
        best = summary.largest_batch(budget)
        at = f": {human_bytes(summary.with_batch(best).training.total)} at that batch" if best else ""
        lines.append((f"fits in {human_bytes(budget)}", f"batch {best:,}{at}" if best else "not even batch 1"))
    width = max(len(label) for label, _ in lines)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in lines)


ROW_HEADERS = ["layer", "op", "kernel/stride", "output", "params", "MACs", "activations", "receptive field"]
PRODUCTS_HEADER = "act×act MACs"  # the part of MACs between two activations, shown where a model has any
_MACS_AT = ROW_HEADERS.index("MACs") + 1


def has_products(summary: Summary) -> bool:
    """Whether the tables get the act×act column: some op multiplies two activations (attention)."""
    return any(r.product_macs for r in summary.rows)


def row_cells(r: Row, products: bool = False) -> list[str]:
    act = "shared" if r.in_place else human_bytes(r.activation_bytes)
    path = r.path + (f" ({r.count} ops)" if r.count > 1 else "") + (" [train]" if r.training_only else "")
    cells = [path, r.op, r.window_text(), shape_text(r.output_shape), f"{r.params:,}", si(r.macs) if r.macs else "0",
             act, r.rf.text() if r.rf else ""]
    if products:
        cells.insert(_MACS_AT, si(r.product_macs) if r.product_macs else "0")
    return cells


def to_markdown(summary: Summary, depth: int | None = None) -> str:
    products = has_products(summary)
    headers = ROW_HEADERS[:_MACS_AT] + [PRODUCTS_HEADER] * products + ROW_HEADERS[_MACS_AT:]
    lines = [f"### {summary.name}", "", "| " + " | ".join(headers) + " |",
             "|" + "|".join(["---"] * 4 + ["--:"] * (len(headers) - 4)) + "|"]
    for r in summary.rows_at_depth(depth):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row_cells(r, products)) + " |")
    lines += ["", "| total | value |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in total_lines(summary)]
    return "\n".join(lines) + "\n"


# Which columns a narrow terminal keeps longest: the layer, what it is and its output, its
# params and MACs; then the window, the activations and the receptive field go, in that order.
SUMMARY_COLUMNS = [
    Column("layer", "left", 0), Column("op", "left", 0), Column("kernel/stride", "left", 3),
    Column("output", "left", 0), Column("params", "right", 0), Column("MACs", "right", 0),
    Column("activations", "right", 2), Column("receptive field", "right", 1),
]
PRODUCTS_COLUMN = Column(PRODUCTS_HEADER, "right", 1)


def render_summary(summary: Summary, depth: int | None, console, wide: bool = False) -> None:
    from rich.table import Table

    rows = summary.rows_at_depth(depth)
    products = has_products(summary)
    columns = SUMMARY_COLUMNS[:_MACS_AT] + [PRODUCTS_COLUMN] * products + SUMMARY_COLUMNS[_MACS_AT:]
    table, left_out, needed = fitted_table(columns, [row_cells(r, products) for r in rows], console.width, wide,
                                           f"{summary.name}  ({summary.source})",
                                           ["dim" if r.training_only else None for r in rows])
    if wide:
        console.width = max(console.width, needed)  # rich would shrink the columns to the terminal
    console.print(table)
    if left_out:
        console.print(left_out_note(left_out, console.width))
    totals = Table.grid(padding=(0, 2))
    totals.add_column(style="bold", no_wrap=True)
    totals.add_column()
    for label, value in total_lines(summary):
        totals.add_row(label, value)
    console.print(totals)


# -- comparison ------------------------------------------------------------------------
def compare_tables(cmp: Comparison) -> tuple[list[list[str]], list[list[str]]]:
    """Rows of the totals table and of the per-stage table, as strings."""
    totals = []
    for _, label, kind, va, vb in cmp.totals():
        fmt = human_bytes if kind == "bytes" else (lambda v: f"{v:,}")
        totals.append([label, fmt(va), fmt(vb), signed(vb - va, kind), percent(va, vb)])
    stages = []
    for s in cmp.stages():
        shape_a = shape_text(s.a.output_shape) if s.a else "—"
        shape_b = shape_text(s.b.output_shape) if s.b else "—"
        stages.append([
            s.path, shape_a if shape_a == shape_b else f"{shape_a} → {shape_b}",
            f"{s.value('a', 'params'):,}" if s.a else "—", f"{s.value('b', 'params'):,}" if s.b else "—",
            signed(s.delta("params"), "count"),
            si(s.value("a", "macs")) if s.a else "—", si(s.value("b", "macs")) if s.b else "—",
            signed(s.delta("macs"), "count"), signed(s.delta("activation_bytes"), "bytes"),
        ])
    return totals, stages


TOTAL_HEADERS = ["total", "A", "B", "Δ (B − A)", "Δ %"]
STAGE_HEADERS = ["stage", "output", "params A", "params B", "Δ params", "MACs A", "MACs B", "Δ MACs", "Δ activations"]


def compare_markdown(cmp: Comparison) -> str:
    totals, stages = compare_tables(cmp)
    lines = [f"### A = {cmp.label_a}, B = {cmp.label_b}", "",
             "| " + " | ".join(TOTAL_HEADERS) + " |", "|---|--:|--:|--:|--:|"]
    lines += ["| " + " | ".join(row) + " |" for row in totals]
    lines += ["", "| " + " | ".join(STAGE_HEADERS) + " |", "|---|---|" + "--:|" * 7]
    lines += ["| " + " | ".join(row) + " |" for row in stages]
    return "\n".join(lines) + "\n"


def compare_json(cmp: Comparison) -> str:
    return dumps_indented(cmp.as_json())


# A narrow terminal keeps each stage's change; the A and B figures themselves go first.
STAGE_RANKS = [0, 2, 4, 3, 0, 4, 3, 0, 1]


def render_compare(cmp: Comparison, console, wide: bool = False) -> None:
    totals, stages = compare_tables(cmp)
    console.print(f"A = {cmp.label_a}\nB = {cmp.label_b}")
    columns = [Column(h, "left" if i == 0 else "right") for i, h in enumerate(TOTAL_HEADERS)]
    table, _, needed = fitted_table(columns, totals, console.width, True, "totals")
    console.print(table)
    styles: list[str | None] = []
    for row, stage in zip(stages, cmp.stages(), strict=True):
        changed = stage.a is None or stage.b is None or stage.delta("params") or stage.delta("macs") or "→" in row[1]
        styles.append("bold" if changed else "dim")
    columns = [Column(h, "left" if i < 2 else "right", rank) for i, (h, rank) in
               enumerate(zip(STAGE_HEADERS, STAGE_RANKS, strict=True))]
    table, left_out, needed = fitted_table(columns, stages, console.width, wide, f"per stage (depth {cmp.depth})",
                                           styles)
    if wide:
        console.width = max(console.width, needed)
    console.print(table)
    if left_out:
        console.print(left_out_note(left_out, console.width))
