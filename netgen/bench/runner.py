"""`netgen bench`'s measurement: the emitted modules of one or more compiled blueprints, timed on
this machine case by case (mode x batch x threads x compiled), the subjects interleaved within
each case so that a comparison is fair, beside the MACs the analysis counts.

A case's first call is timed apart (`first_call_s`: it compiles under torch.compile, and eager
modules pay one-time allocations in it), then `warmup` untimed calls, then the timed ones. A case
that fails (torch.compile cannot compile the model, memory runs out) records its error and the
run goes on. Before anything is built, the analysis's memory estimate of the largest case is
checked against the memory this machine has free, so that a huge blueprint or batch ends in a
clear error rather than an exhausted machine.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..errors import Diagnostic, NetgenError, Span
from ..graph import Graph
from .timing import Samples, interleaved, time_call

MODES = ("eval", "train")
TRAIN_MAC_FACTOR = 3  # a training step's MACs: forward, backward to the inputs, backward to the weights


@dataclass(frozen=True)
class Settings:
    """What to measure; the CLI validates and bounds every field (cli/bench.py)."""

    batches: tuple[int, ...] = (1,)
    threads: tuple[int, ...] = ()  # empty: torch's current setting
    modes: tuple[str, ...] = ("eval",)
    compile: tuple[bool, ...] = (False,)
    device: str = "cpu"
    dtype: str = "float32"  # float32, or bfloat16/float16 under autocast
    warmup: int = 3
    repeat: int = 10
    max_time: float | None = None  # seconds per case, all subjects together
    optimizer: str = "adam"
    seed: int = 0


@dataclass(frozen=True)
class Case:
    mode: str
    batch: int
    threads: int
    compiled: bool

    def text(self) -> str:
        return (f"{self.mode} batch {self.batch}, {self.threads} thread{'s' if self.threads > 1 else ''}, "
                f"{'compiled' if self.compiled else 'eager'}")

    def as_json(self) -> dict:
        return {"mode": self.mode, "batch": self.batch, "threads": self.threads, "compile": self.compiled}


@dataclass
class Subject:
    """One blueprint as compiled (with its --set/--input), and its static costs."""

    label: str
    graph: Graph
    params: int = 0
    buffers: int = 0
    macs: int = 0
    training_only_macs: int = 0
    inputs: list[tuple[int, ...]] = field(default_factory=list)
    outputs: list[tuple[int, ...]] = field(default_factory=list)

    @classmethod
    def of(cls, label: str, graph: Graph) -> Subject:
        from ..analysis import summarize

        s = summarize(graph)
        return cls(label, graph, s.params, s.buffers, s.macs, s.training_only_macs, list(s.inputs), list(s.outputs))

    def macs_per_step(self, case: Case) -> int:
        """Eval: the forward MACs at the batch; train: forward (training-only ops included) and
        backward, counted as TRAIN_MAC_FACTOR times the forward."""
        if case.mode == "train":
            return TRAIN_MAC_FACTOR * case.batch * (self.macs + self.training_only_macs)
        return case.batch * self.macs

    def as_json(self) -> dict:
        g = self.graph
        plan = g.meta.get("inference")  # the inference build's plan (netgen/passes/inference.py)
        return {"label": self.label, "name": g.name, "source": str(g.meta.get("source", "")),
                "build": "inference" if plan is not None else "training",
                "channels_last": bool(getattr(plan, "channels_last", False)),
                "blueprint_params": g.meta.get("params", {}), "inputs": [list(s) for s in self.inputs],
                "outputs": [list(s) for s in self.outputs], "params": self.params, "buffers": self.buffers,
                "macs": self.macs, "training_only_macs": self.training_only_macs}


@dataclass
class Measurement:
    subject: int  # index into the subjects
    case: Case
    macs_per_step: int
    samples: Samples | None = None
    first_call_s: float | None = None
    error: str | None = None

    def as_json(self) -> dict:
        timed = self.samples.as_json() if self.samples else {"samples": 0, "times_s": [], "median_s": None,
                                                              "p10_s": None, "p90_s": None, "min_s": None,
                                                              "max_s": None}
        median = timed["median_s"]
        per_s = (lambda n: n / median) if median else (lambda n: None)
        return {"model": self.subject, **self.case.as_json(), **timed, "first_call_s": self.first_call_s,
                "items_per_s": per_s(self.case.batch), "macs_per_step": self.macs_per_step,
                "macs_per_s": per_s(self.macs_per_step), "error": self.error}


class Progress(Protocol):
    def begin(self, total: int) -> None: ...
    def case(self, index: int, count: int, case: Case) -> None: ...
    def advance(self, steps: int = 1) -> None: ...
    def measured(self, results: list[Measurement], labels: list[str]) -> None: ...
    def end(self) -> None: ...


def cases(settings: Settings, default_threads: int) -> list[Case]:
    """Every case, in the order run: threads, then eager before compiled, modes, batches."""
    return [Case(mode, batch, threads, compiled) for threads in (settings.threads or (default_threads,))
            for compiled in settings.compile for mode in settings.modes for batch in settings.batches]


def steps_per_case(settings: Settings) -> int:
    return 1 + settings.warmup + settings.repeat  # the first call, warm-up, timed rounds


def available_bytes(device: str) -> int | None:
    """Memory free for the run: the CUDA device's free bytes; on the CPU, MemAvailable of
    /proc/meminfo, or less where a cgroup (v2) limit leaves less (a container). None where
    nothing can be read, and the check is skipped."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.mem_get_info(torch.device(device))[0]
    free = [value for value in (_meminfo_available(), _cgroup_headroom()) if value is not None]
    return min(free) if free else None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_headroom(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """memory.max - memory.current of this process's cgroup (v2), or None without a limit."""
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(int(limit) - int((root / "memory.current").read_text().strip()), 0)
    except (OSError, ValueError):
        return None


def estimated_bytes(subjects: Sequence[Subject], settings: Settings) -> int:
    """The analysis's memory estimate of the largest case: every subject's weights and optimizer
    state (all are resident) plus the largest single step's activations (subjects run in turn)."""
    from ..analysis import summarize

    optimizer = "sgd" if settings.optimizer == "none" else settings.optimizer
    resident, step = 0, 0
    for subject in subjects:
        s = summarize(subject.graph, batch=max(settings.batches), dtype=settings.dtype, optimizer=optimizer)
        kept = s.params * 4 + s.buffer_classes.nbytes(4)  # float32 weights whatever the autocast dtype
        if "train" in settings.modes:
            plan = s.training
            kept = plan.weights + plan.buffers + plan.optimizer_state
            step = max(step, plan.peak - kept)
        if "eval" in settings.modes:
            step = max(step, s.inference_peak_bytes)
        resident += kept
    return resident + step


def check_memory(subjects: Sequence[Subject], settings: Settings) -> None:
    """Refuse a run whose estimate exceeds the memory free on the device (exit 2 at the CLI)."""
    need, free = estimated_bytes(subjects, settings), available_bytes(settings.device)
    if free is not None and need > free:
        raise NetgenError([Diagnostic(
            "NG007", f"the largest case needs about {need / 1e9:.2f} GB (netgen's memory estimate at batch "
                     f"{max(settings.batches)}) and {settings.device} has {free / 1e9:.2f} GB free",
            Span("<--batch>", 1, 1), hint="bench a smaller --batch or one blueprint at a time; "
                                           "`netgen summary --train --fit SIZE` gives the largest batch that fits")])


def run(subjects: Sequence[Subject], settings: Settings, progress: Progress | None = None) -> list[Measurement]:
    """Measure every case for every subject; the results are in case order, subjects within a case."""
    import torch

    from ..codegen.module import build_module
    from . import steps

    default_threads = torch.get_num_threads()
    plan = cases(settings, default_threads)
    models, optimizers = [], {}
    for subject in subjects:
        torch.manual_seed(settings.seed)
        models.append(build_module(subject.graph, Path(str(subject.graph.meta.get("source", ""))).name)
                      .to(settings.device))
    sync = steps.synchronizer(settings.device)
    results: list[Measurement] = []
    if progress:
        progress.begin(len(plan) * steps_per_case(settings))
    try:
        for number, case in enumerate(plan, 1):
            if progress:
                progress.case(number, len(plan), case)
            torch.set_num_threads(case.threads)
            found = [Measurement(i, case, s.macs_per_step(case)) for i, s in enumerate(subjects)]
            calls = {}
            for m, subject, model in zip(found, subjects, models, strict=True):
                model.train(case.mode == "train")
                inputs = steps.make_inputs(subject.inputs, case.batch, settings.device, settings.seed)
                if case.mode == "train" and m.subject not in optimizers:
                    optimizers[m.subject] = steps.make_optimizer(settings.optimizer, model)
                try:
                    runner = torch.compile(model, dynamic=False) if case.compiled else model
                    if case.mode == "train":
                        call = steps.train_call(runner, inputs, optimizers[m.subject], settings.dtype, settings.device)
                    else:
                        call = steps.eval_call(runner, inputs, settings.dtype, settings.device)
                    m.first_call_s = time_call(call, sync)
                    for _ in range(settings.warmup):
                        call()
                    calls[m.subject] = call
                except Exception as exc:  # torch.compile unable to compile, memory exhausted: recorded, run goes on
                    m.error = error_text(exc)
            if progress:
                progress.advance(1 + settings.warmup)
            done = 0
            if calls:
                try:
                    timed = interleaved(list(calls.values()), settings.repeat, settings.max_time, sync,
                                        on_round=(lambda _: progress.advance()) if progress else None)
                    for index, samples in zip(calls, timed, strict=True):
                        found[index].samples = samples
                    done = len(timed[0].times)
                except Exception as exc:  # a timed call failed (memory ran out): the case's models have no samples
                    for index in calls:
                        found[index].error = error_text(exc)
            if progress:
                progress.advance(settings.repeat - done)
            if case.compiled:
                torch.compiler.reset()  # the next case compiles afresh, never from a stale cache entry
            results += found
            if progress:
                progress.measured(found, [s.label for s in subjects])
    finally:
        torch.set_num_threads(default_threads)
        if progress:
            progress.end()
    return results


def error_text(exc: BaseException) -> str:
    """`RuntimeError: first line of the message` (at most 300 characters), for the report."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity), which bounds --threads."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
