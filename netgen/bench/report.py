"""`netgen bench`'s output: one JSON object (schema `netgen.bench/1`, documented in
docs/bench.md) and the terminal table (per case: each model's median, p10-p90, items/s and
achieved MAC/s, and the time ratio of each model to the first)."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path

from .runner import Measurement, Settings, Subject, usable_cpus

SCHEMA = "netgen.bench/1"


def device_name(device: str) -> str:
    """What the device is, in words: the CUDA device's name, or the CPU's model name."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(settings: Settings) -> dict:
    import torch

    from .. import __version__

    return {"netgen": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform(), "device": settings.device, "device_name": device_name(settings.device),
            "cpus": usable_cpus()}


def ratios(results: Sequence[Measurement]) -> list[dict]:
    """Per case and model after the first: its median time and MACs over the first model's."""
    baseline = {m.case: m for m in results if m.subject == 0}
    rows = []
    for m in results:
        base = baseline.get(m.case)
        if m.subject == 0 or base is None:
            continue
        time = m.samples.median / base.samples.median if m.samples and base.samples else None
        macs = m.macs_per_step / base.macs_per_step if base.macs_per_step else None
        rows.append({"model": m.subject, "baseline": 0, **m.case.as_json(), "time": time, "macs": macs})
    return rows


def to_json(subjects: Sequence[Subject], settings: Settings, results: Sequence[Measurement]) -> dict:
    return {
        "schema": SCHEMA,
        "machine": machine(settings),
        "settings": {"batches": list(settings.batches), "threads": sorted({m.case.threads for m in results}),
                     "modes": list(settings.modes), "compile": list(settings.compile), "device": settings.device,
                     "dtype": settings.dtype, "warmup": settings.warmup, "repeat": settings.repeat,
                     "max_time_s": settings.max_time, "optimizer": settings.optimizer,
                     "interleaved": len(subjects) > 1},
        "models": [s.as_json() for s in subjects],
        "results": [m.as_json() for m in results],
        "ratios": ratios(results),
    }


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}".replace(" ", "\u00a0")
    return f"{value / 1e-6:.3g}\u00a0µs"


def rate(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{prefix}{unit}"
    return f"{value:.3g}{unit}"


def model_lines(subjects: Sequence[Subject]) -> list[str]:
    letters = "AB"
    lines = []
    for index, s in enumerate(subjects):
        shapes = ", ".join("x".join(map(str, shape)) for shape in s.inputs)
        extra = f" (+{s.training_only_macs:,} training-only)" if s.training_only_macs else ""
        tag = f"{letters[index]} = " if len(subjects) > 1 else ""
        lines.append(f"{tag}{s.label}: input {shapes}, {s.params:,} parameters, {s.macs:,} MACs per item{extra}")
    return lines


LETTERS = "AB"
# columns a narrow terminal leaves out first: the highest number goes first (MAC/s, then the spread)
DROP_ORDER = {"MAC/s": 3, "p10–p90": 2, "items/s": 1}


def header_line(subjects: Sequence[Subject], settings: Settings, results: Sequence[Measurement]) -> str:
    info = machine(settings)
    counts = sorted({len(m.samples.times) for m in results if m.samples})  # fewer under --max-time
    of = f"{counts[0]}-{counts[-1]}" if len(counts) > 1 else str(counts[0]) if counts else "0"
    threads = sorted({m.case.threads for m in results})
    builds = sorted({m.case.compiled for m in results})
    single = ([f"{threads[0]} thread{'s' if threads[0] > 1 else ''}"] if len(threads) == 1 else []) + (
        ["compiled" if builds[0] else "eager"] if len(builds) == 1 else [])
    return (f"{info['device_name']} ({settings.device}), torch {info['torch']}, {settings.dtype}"
            f"{' (autocast)' if settings.dtype != 'float32' else ''}{''.join(', ' + t for t in single)}; "
            f"median of {of} after "
            f"{settings.warmup} warm-up{'s' if settings.warmup != 1 else ''}"
            f"{', models interleaved' if len(subjects) > 1 else ''}")


def table_cells(subjects: Sequence[Subject], results: Sequence[Measurement]) -> tuple[list[str], list[list[str]]]:
    """The table's headers and rows (one per case): the case, then each model's median, p10–p90,
    items/s and MAC/s, then B's time over A's."""
    many = len(subjects) > 1
    headers = ["mode", "batch", "threads", "compile"]
    for index in range(len(subjects)):
        tag = f"{LETTERS[index]} " if many else ""
        headers += [f"{tag}median", f"{tag}p10–p90", f"{tag}items/s", f"{tag}MAC/s"]
    headers += [f"{LETTERS[index]}/A time" for index in range(1, len(subjects))]
    by_case: dict = {}
    for m in results:
        by_case.setdefault(m.case, {})[m.subject] = m
    ratio_of = {(r["model"], r["mode"], r["batch"], r["threads"], r["compile"]): r["time"] for r in ratios(results)}
    rows = []
    for case, row in by_case.items():
        cells = [case.mode, str(case.batch), str(case.threads), "yes" if case.compiled else "no"]
        for index in range(len(subjects)):
            m = row.get(index)
            if m is None or m.samples is None:
                cells += ["failed" if m is not None and m.error else "—", "", "", ""]
                continue
            fields = m.as_json()
            cells += [seconds(m.samples.median), f"{seconds(m.samples.p10)}–{seconds(m.samples.p90)}",
                      rate(fields["items_per_s"]), rate(fields["macs_per_s"])]
        for index in range(1, len(subjects)):
            value = ratio_of.get((index, case.mode, case.batch, case.threads, case.compiled))
            cells.append(f"{value:.2f}" if value is not None else "—")
        rows.append(cells)
    return headers, rows


def fitted_columns(headers: list[str], rows: list[list[str]], width: int | None) -> list[int]:
    """The columns to show: threads and compile only where they vary (the header line gives a
    single value), and within `width` characters the rest, leaving out MAC/s, then the spread,
    then items/s (the medians and ratios always stay)."""
    keep = [i for i, h in enumerate(headers) if h not in ("threads", "compile") or len({r[i] for r in rows}) > 1]

    def needed(columns: list[int]) -> int:
        return sum(max(len(headers[i]), *(len(r[i]) for r in rows)) + 3 for i in columns)

    for level in (3, 2, 1):
        if width is None or needed(keep) <= width:
            break
        keep = [i for i in keep if DROP_ORDER.get(headers[i].split(" ")[-1], 0) != level]
    return keep


def render(subjects: Sequence[Subject], settings: Settings, results: Sequence[Measurement], console) -> None:
    """The terminal table: one row per case, each model's columns side by side."""
    from rich.table import Table

    many = len(subjects) > 1
    for line in model_lines(subjects):
        console.print(line, markup=False, highlight=False)
    console.print(header_line(subjects, settings, results), markup=False, highlight=False)
    headers, rows = table_cells(subjects, results)
    shown = fitted_columns(headers, rows, console.width)
    table = Table(show_edge=False, pad_edge=False)
    for i in shown:
        table.add_column(headers[i], justify="left" if headers[i] in ("mode", "compile") else "right")
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    console.print(table)
    if len(shown) < len(headers) and any(headers[i] not in ("threads", "compile") for i in
                                         set(range(len(headers))) - set(shown)):
        console.print("(columns left out to fit the terminal; --json has every figure)", markup=False,
                      highlight=False)
    by_case: dict = {}
    for m in results:
        by_case.setdefault(m.case, {})[m.subject] = m
    for case, row in by_case.items():
        if case.compiled:  # the first call is where torch.compile compiles: what a user waits for once
            firsts = ", ".join(f"{LETTERS[i] if many else subjects[i].label} {seconds(m.first_call_s)}"
                               for i, m in sorted(row.items()) if m.first_call_s is not None)
            if firsts:
                console.print(f"first call (compiling), {case.text()}: {firsts}".replace("\u00a0", " "),
                              markup=False, highlight=False)
    for m in results:
        if m.error:
            console.print(f"{subjects[m.subject].label}, {m.case.text()}: {m.error}", markup=False, highlight=False)


def to_markdown(subjects: Sequence[Subject], settings: Settings, results: Sequence[Measurement]) -> str:
    """The table as GitHub-flavoured Markdown, every column, for a PR, a paper's notes or slides."""
    headers, rows = table_cells(subjects, results)
    lines = [f"- {line}" for line in model_lines(subjects)] + [f"- {header_line(subjects, settings, results)}", ""]
    lines += ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(cell.replace("\u00a0", " ") or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
