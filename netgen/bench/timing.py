"""Wall-clock timing of repeated calls: the samples, their median and spread, and calls of several
subjects interleaved round by round so that each sees the same machine state. Pure Python (no
torch): `netgen bench` and the scripts in benchmarks/ time with it.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 <= q <= 100) by linear interpolation between the closest ranks
    (numpy's default): for n sorted values, rank q/100 * (n - 1)."""
    if not values:
        raise ValueError("Expected at least one value; received none")
    if not 0 <= q <= 100:
        raise ValueError(f"Expected a percentile from 0 to 100; received q={q}")
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Samples:
    """Seconds per call, in the order measured."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p10(self) -> float:
        return percentile(self.times, 10)

    @property
    def p90(self) -> float:
        return percentile(self.times, 90)

    def as_json(self) -> dict:
        return {"samples": len(self.times), "times_s": list(self.times), "median_s": self.median,
                "p10_s": self.p10, "p90_s": self.p90, "min_s": min(self.times), "max_s": max(self.times)}


def time_call(call: Callable[[], object], sync: Callable[[], None] | None = None) -> float:
    """Seconds one call takes; `sync` waits for queued device work (CUDA) before the clock stops."""
    start = time.perf_counter()
    call()
    if sync is not None:
        sync()
    return time.perf_counter() - start


def interleaved(calls: Sequence[Callable[[], object]], repeat: int, max_time: float | None = None,
                sync: Callable[[], None] | None = None,
                on_round: Callable[[int], None] | None = None) -> list[Samples]:
    """Time each call `repeat` times, round by round: every round calls each once, starting one
    later each round (A B, then B A), so that no subject always runs right after another. With
    `max_time` (seconds), stop after the round that passes it (at least one round is made); every
    subject gets the same number of samples either way. `on_round(done)` is told after each round."""
    if repeat < 1:
        raise ValueError(f"Expected repeat >= 1; received repeat={repeat}")
    times: list[list[float]] = [[] for _ in calls]
    started = time.perf_counter()
    for done in range(1, repeat + 1):
        shift = (done - 1) % len(calls)
        for index in [*range(shift, len(calls)), *range(shift)]:
            times[index].append(time_call(calls[index], sync))
        if on_round is not None:
            on_round(done)
        if max_time is not None and time.perf_counter() - started >= max_time:
            break
    return [Samples(tuple(t)) for t in times]
