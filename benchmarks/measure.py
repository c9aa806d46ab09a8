"""Timing series run round robin, the driver baseline, and a process's memory."""

import math
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


@dataclass
class Timing:
    name: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 95)


@dataclass
class Comparison:
    """One case's timings, the gateway's and the baseline's, taken in turns."""

    runs: int
    gateway: Timing
    baseline: Timing

    @property
    def ratio(self) -> float:
        return self.gateway.median / self.baseline.median

    def medians(self) -> tuple[str, str]:
        """Each side's median and p95, as the reports show them."""
        gateway, baseline = (f"{ms(t.median)} ms (p95 {ms(t.p95)})" for t in (self.gateway, self.baseline))
        return gateway, baseline


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: with few values, p95 is the slowest."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds < 1 else f"{seconds * 1000:.0f}"


def runs_for(size: int, scale: float = 1.0) -> int:
    """Enough repetitions for a steady median at this many instances a request: 20 of 1000,
    200 of 20, 200 of 1; at least 3 whatever the scale."""
    return max(3, round(min(200, max(15, 20_000 // max(size, 1))) * scale))


async def round_robin(series: Mapping[str, Callable[[], Awaitable[Any]]], runs: int, warmup: int) -> dict[str, Timing]:
    """Each series `runs` times, taking turns (so that whatever else the machine does weighs on
    every series alike), the order turning each round; after `warmup` untimed rounds."""
    names = list(series)
    for _ in range(warmup):
        for name in names:
            await series[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            await series[name]()
            seconds[name].append(time.perf_counter() - start)
    return {name: Timing(name, values) for name, values in seconds.items()}


async def driver_read(
    collection: Any, selector: Mapping[str, Any], projection: Mapping[str, Any], limit: int
) -> list[dict[str, Any]]:
    """The baseline's read: the driver's find, `limit` documents to a list."""
    return await collection.find(dict(selector), dict(projection)).limit(limit).to_list(None)


def driver_baseline(
    collection: Any, selector: Mapping[str, Any], projection: Mapping[str, Any], limit: int
) -> Callable[[], Awaitable[bytes]]:
    """What a service without a gateway would do for the same page: read the documents with the
    driver and `orjson.dumps` them."""

    async def read_and_dump() -> bytes:
        return orjson.dumps(await driver_read(collection, selector, projection, limit))

    return read_and_dump


# ---------------------------------------------------------------------------------------------
# Memory, from /proc (Linux)

MB = 1_000_000


def memory_of(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (the peak resident set) of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(value.split()[0]) * 1024
    return values


def reset_peak(pid: int | str = "self") -> bool:
    """Set a process's VmHWM to its present RSS (Linux 4.0+); False where that is not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def peak_increase(pid: int | str, run: Callable[[], Awaitable[bytes]]) -> tuple[int, int, bool]:
    """How far the process's resident set rose above where it was while `run` ran; the size of
    what `run` answered; whether the peak could be reset first (if not, the rise is above the
    highest peak since the process started, and may read 0)."""
    was_reset = reset_peak(pid)
    before = memory_of(pid)
    answer = await run()
    after = memory_of(pid)
    base = before["VmRSS"] if was_reset else before["VmHWM"]
    return max(0, after["VmHWM"] - base), len(answer), was_reset
