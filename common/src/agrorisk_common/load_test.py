"""Closed-loop load for benchmarks: `concurrency` workers send `requests` in turn, each timed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import numpy as np
from pydantic import BaseModel

Call = Callable[[int], Awaitable[str | None]]
"""Send request number i; return its error (None when it was answered well)."""


class LoadStats(BaseModel):
    """Throughput of the well-answered requests, latency percentiles of all, and errors."""

    requests: int
    concurrency: int
    errors: int
    error_samples: list[str]  # the first distinct ones, at most five
    wall_s: float
    throughput_rps: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


async def closed_loop(
    call: Call, requests: int, concurrency: int, on_done: Callable[[], None] | None = None
) -> LoadStats:
    """Run `requests` calls, `concurrency` at a time; an exception from `call` counts as its error."""
    latencies: list[float] = []
    errors: list[str] = []
    numbers = iter(range(requests))

    async def worker() -> None:
        for i in numbers:
            started = time.perf_counter()
            try:
                error = await call(i)
            except Exception as exc:  # the target's failure is a result of the run, never its end
                error = f"{type(exc).__name__}: {exc}"
            latencies.append((time.perf_counter() - started) * 1000)
            if error:
                errors.append(error)
            if on_done:
                on_done()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    cuts = np.percentile(latencies, [50, 95, 99]) if latencies else np.zeros(3)
    return LoadStats(
        requests=requests,
        concurrency=concurrency,
        errors=len(errors),
        error_samples=list(dict.fromkeys(errors))[:5],
        wall_s=round(wall, 3),
        throughput_rps=round((requests - len(errors)) / wall, 2) if wall else 0.0,
        mean_ms=round(float(np.mean(latencies)), 1) if latencies else 0.0,
        p50_ms=round(float(cuts[0]), 1),
        p95_ms=round(float(cuts[1]), 1),
        p99_ms=round(float(cuts[2]), 1),
        max_ms=round(max(latencies), 1) if latencies else 0.0,
    )
