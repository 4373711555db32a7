"""`netgen bench`: the emitted model's measured latency and throughput on this machine (eval and
train step, batch sizes, threads, eager and torch.compile), beside its counted MACs; with two
blueprints, both interleaved and their time ratio. Every option is bounded (a blueprint and the
options are untrusted input); a bad one exits 2 with its location and a hint. Progress goes to
stderr (a live bar on a terminal, plain lines otherwise); results to stdout."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

import typer

from ..errors import Diagnostic, NetgenError, Span
from .choices import DType
from .common import (
    AllowPathOption,
    AllowPluginsOption,
    ChannelsLastOption,
    FormatOption,
    InferenceOption,
    InputOption,
    SetOption,
    compile_from_cli,
    complete_blueprint,
    fail,
)

MAX_BATCH = 65_536
MAX_VALUES = 8  # per list option (--batch, --threads)
MAX_CASES = 64  # threads x compile x modes x batches
MAX_REPEAT = 10_000
MAX_WARMUP = 1_000
MAX_TIME = 86_400.0  # seconds per case
OPTIMIZER_CHOICES = ("adam", "adamw", "sgd", "momentum", "none")


def option_error(option: str, message: str, col: int = 1, hint: str = "") -> NetgenError:
    return NetgenError([Diagnostic("NG007", message, Span(f"<{option}>", 1, col), hint=hint)])


def parse_counts(option: str, text: str, low: int, high: int, hint: str) -> tuple[int, ...]:
    """`1,16,64` -> (1, 16, 64): at most MAX_VALUES distinct integers from low to high."""
    items = text.split(",")
    if len(items) > MAX_VALUES:
        raise option_error(option, f"Expected at most {MAX_VALUES} values; received {len(items)}", 1, hint)
    values, col = [], 1
    for item in items:
        if not re.fullmatch(r"\s*\d{1,9}\s*", item):
            raise option_error(option, f"Expected integers separated by commas, such as 1,16; received {text[:80]!r}",
                               col, hint)
        value = int(item)
        if not low <= value <= high:
            raise option_error(option, f"Expected values from {low} to {high:,}; received {value}", col, hint)
        if value in values:
            raise option_error(option, f"Expected distinct values; received {value} twice", col, hint)
        values.append(value)
        col += len(item) + 1
    return tuple(values)


def parse_modes(text: str) -> tuple[str, ...]:
    from ..bench.runner import MODES

    modes, col = [], 1
    for item in text.split(","):
        name = item.strip()
        if name not in MODES or name in modes:
            raise option_error("--mode", f"Expected eval, train or eval,train; received {text[:80]!r}", col,
                               "eval: a forward pass without autograd; train: zero_grad, forward, backward, "
                               "optimizer step")
        modes.append(name)
        col += len(item) + 1
    return tuple(modes)


def check_device(device: str) -> str:
    """`cpu`, `cuda` or `cuda:N`, refused (exit 2) when this torch or machine has no such device."""
    if not re.fullmatch(r"cpu|cuda(:\d{1,3})?", device):
        raise option_error("--device", f"Expected cpu, cuda or cuda:N; received {device[:80]!r}")
    if device == "cpu":
        return device
    import torch

    if not torch.cuda.is_available():
        why = "this torch is built without CUDA" if torch.version.cuda is None else "no CUDA device is visible"
        raise option_error("--device", f"--device {device}: CUDA is not available ({why})",
                           hint="run on the CPU (--device cpu), or install a CUDA build of torch on a GPU machine")
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise option_error("--device", f"--device {device}: this machine has {torch.cuda.device_count()} CUDA "
                                       f"device(s), cuda:0 to cuda:{torch.cuda.device_count() - 1}", 8)
    return device


class LiveProgress:
    """A rich progress bar on stderr (a terminal): the case being measured and the calls done."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.task = self.bar.add_task("bench", total=None)

    def begin(self, total: int) -> None:
        self.bar.update(self.task, total=total)
        self.bar.start()

    def case(self, index: int, count: int, case) -> None:
        self.bar.update(self.task, description=f"[{index}/{count}] {case.text()}")

    def advance(self, steps: int = 1) -> None:
        self.bar.advance(self.task, steps)

    def measured(self, results, labels) -> None:
        pass

    def end(self) -> None:
        self.bar.stop()


class LineProgress:
    """Plain lines on stderr (not a terminal: CI logs, pipes): one as each case starts and ends."""

    def __init__(self) -> None:
        self.count = 0

    def begin(self, total: int) -> None:
        pass

    def case(self, index: int, count: int, case) -> None:
        self.count = count
        print(f"bench [{index}/{count}] {case.text()} ...", file=sys.stderr, flush=True)

    def advance(self, steps: int = 1) -> None:
        pass

    def measured(self, results, labels) -> None:
        from ..bench.report import seconds

        parts = [f"{labels[m.subject]} {seconds(m.samples.median) if m.samples else 'failed'}" for m in results]
        print(f"bench     {', '.join(parts)}".replace("\u00a0", " "), file=sys.stderr, flush=True)

    def end(self) -> None:
        pass


def bench(
    blueprints: list[str] = typer.Argument(..., help="A blueprint, or two to compare (A, the baseline, and B).",
                                           autocompletion=complete_blueprint, show_default=False,
                                           metavar="BLUEPRINT [B]"),
    batch: str = typer.Option("1", "--batch", "-b", metavar="N[,N...]", help="Batch sizes, e.g. 1,16."),
    threads: str | None = typer.Option(None, "--threads", "-t", metavar="N[,N...]",
                                       help="torch.set_num_threads values, e.g. 1,2 (default: torch's)."),
    mode: str = typer.Option("eval", "--mode", "-m", metavar="eval,train",
                             help="eval: forward without autograd; train: zero_grad, forward, backward, step."),
    compile: bool = typer.Option(False, "--compile/--no-compile", help="Also measure torch.compile of the model."),
    eager: bool = typer.Option(True, "--eager/--no-eager", help="Measure the eager model (--no-eager with "
                               "--compile: compiled only)."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
    dtype: DType = typer.Option("float32", "--dtype", help="float32, or bfloat16/float16 under autocast."),
    warmup: int = typer.Option(3, "--warmup", help=f"Untimed calls per case after the first (0-{MAX_WARMUP:,})."),
    repeat: int = typer.Option(10, "--repeat", "-r", help=f"Timed calls per case and model (1-{MAX_REPEAT:,})."),
    max_time: float | None = typer.Option(None, "--max-time", metavar="SECONDS",
                                          help="Stop a case's timed calls after this long (at least one each)."),
    optimizer: str = typer.Option("adam", "--optimizer", help="Train step's optimizer: adam, adamw, sgd, momentum "
                                  "or none (forward + backward only)."),
    sets: list[str] | None = SetOption,
    input: str | None = InputOption,
    sets_b: list[str] | None = typer.Option(None, "--set-b", metavar="KEY=VALUE",
                                            help="Override a param of B only; with one blueprint, B is A's copy."),
    input_b: str | None = typer.Option(None, "--input-b", metavar="CxHxW", help="Override B's input shape only."),
    inference: bool = InferenceOption,
    inference_b: bool = typer.Option(False, "--inference-b", help="B only is the inference build; with one "
                                     "blueprint, B is A's (the ratio is what the inference build gains)."),
    channels_last: bool = ChannelsLastOption,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object (schema in docs/bench.md)."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the table as Markdown, every column."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
    allow_plugins: bool = AllowPluginsOption,
    format: str = FormatOption,
    allow_path: list[str] | None = AllowPathOption,
) -> None:
    """Measure the emitted model's latency and throughput on this machine (eval and train step, batch
    sizes, threads, eager and torch.compile) beside its counted MACs; two blueprints are interleaved
    and compared."""
    fmt = "json" if json_out else format
    try:
        if json_out and markdown:
            raise option_error("--markdown", "Expected one of --json and --markdown, not both")
        plans = _plans(blueprints, sets, input, sets_b, input_b, inference, inference_b, channels_last)
        settings = _settings(batch, threads, mode, compile, eager, device, dtype, warmup, repeat, max_time,
                             optimizer)
        if "train" in settings.modes and any(plan.inference for plan in plans):
            raise option_error("--mode", "Expected --mode eval with an inference build: it has no training step",
                               hint="bench the training build's train step in a run of its own")
        from ..bench.runner import Subject, check_memory

        subjects = [Subject.of(plan.label, plan.graph(allow_path, allow_plugins)) for plan in plans]
        check_memory(subjects, settings)
    except NetgenError as exc:
        fail(exc, fmt)
    from ..bench import report
    from ..bench.runner import run

    progress = None if quiet else (LiveProgress() if sys.stderr.isatty() else LineProgress())
    results = run(subjects, settings, progress)
    if json_out:
        import json

        typer.echo(json.dumps(report.to_json(subjects, settings, results), indent=2))
    elif markdown:
        typer.echo(report.to_markdown(subjects, settings, results), nl=False)
    else:
        from .summary import console

        report.render(subjects, settings, results, console())
    if any(m.error for m in results):
        raise typer.Exit(1)


@dataclass
class Plan:
    """What one model is: the blueprint, its overrides and which build."""

    blueprint: str
    sets: list[str] = field(default_factory=list)
    input: str | None = None
    inference: bool = False
    channels_last: bool = False
    label: str = ""

    def graph(self, allow_paths, allow_plugins: bool):
        graph = compile_from_cli(self.blueprint, self.sets, self.input, allow_paths, allow_plugins)
        if self.inference:
            from ..passes import inference_graph

            graph = inference_graph(graph, channels_last=self.channels_last)
        return graph


def _plans(blueprints, sets, input, sets_b, input_b, inference, inference_b, channels_last) -> list[Plan]:
    """A and, with two blueprints or a B option, B; labels that tell them apart."""
    if len(blueprints) > 2:
        raise option_error("BLUEPRINTS", f"Expected one or two blueprints; received {len(blueprints)}",
                           hint="bench two at a time: the first is the baseline of the ratios")
    if inference and inference_b:
        raise option_error("--inference-b", "Expected --inference (every model) or --inference-b (B only), not both")
    if channels_last and not (inference or inference_b):
        raise option_error("--channels-last", "Expected --inference or --inference-b with --channels-last: it is "
                                              "an option of the inference build", hint="add --inference")
    plans = [Plan(blueprints[0], list(sets or []), input, inference, channels_last and inference)]
    if len(blueprints) == 2 or sets_b or input_b or inference_b:
        plans.append(Plan(blueprints[-1], list(sets or []) + list(sets_b or []), input_b or input,
                          inference or inference_b, channels_last))
    for index, plan in enumerate(plans):
        extras = [*(sets_b or []), *([f"input={input_b}"] if input_b else [])] if index == 1 else []
        extras += ["inference"] * plan.inference + ["channels_last"] * plan.channels_last
        plan.label = plan.blueprint + (f" ({', '.join(extras)})" if extras else "")
    if len(plans) == 2 and plans[0].label == plans[1].label:
        for plan, tag in zip(plans, "AB", strict=True):
            plan.label += f" [{tag}]"
    return plans


def _settings(batch, threads, mode, compile, eager, device, dtype, warmup, repeat, max_time, optimizer):
    """Validated, bounded Settings."""
    from ..analysis.memory import canonical_dtype
    from ..bench.runner import Settings, usable_cpus

    if not (compile or eager):
        raise option_error("--no-eager", "Expected something to measure: --no-eager leaves nothing without --compile",
                           hint="add --compile, or drop --no-eager")
    if not 0 <= warmup <= MAX_WARMUP:
        raise option_error("--warmup", f"Expected --warmup from 0 to {MAX_WARMUP:,}; received {warmup}")
    if not 1 <= repeat <= MAX_REPEAT:
        raise option_error("--repeat", f"Expected --repeat from 1 to {MAX_REPEAT:,}; received {repeat}",
                           hint="--max-time SECONDS bounds a case by time instead")
    if max_time is not None and not 0 < max_time <= MAX_TIME:
        raise option_error("--max-time", f"Expected --max-time from 0 (exclusive) to {MAX_TIME:,.0f} seconds; "
                                         f"received {max_time}")
    if optimizer not in OPTIMIZER_CHOICES:
        raise option_error("--optimizer", f"Expected one of {', '.join(OPTIMIZER_CHOICES)}; received {optimizer!r}")
    cpus = usable_cpus()
    settings = Settings(
        batches=parse_counts("--batch", batch, 1, MAX_BATCH, "batch sizes such as 1,16,64"),
        threads=parse_counts("--threads", threads, 1, cpus, f"this process may use {cpus} CPU(s)") if threads else (),
        modes=parse_modes(mode), compile=tuple(c for c, on in ((False, eager), (True, compile)) if on),
        device=check_device(device), dtype=canonical_dtype(dtype), warmup=warmup, repeat=repeat, max_time=max_time,
        optimizer=optimizer)
    count = max(len(settings.threads), 1) * len(settings.compile) * len(settings.modes) * len(settings.batches)
    if count > MAX_CASES:
        raise option_error("--batch", f"Expected at most {MAX_CASES} cases (threads x compile x modes x batches); "
                                      f"received {count}", hint="bench fewer combinations per run")
    return settings


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
