"""Load run of the compare route of a running backend: throughput, latency percentiles and errors."""

from __future__ import annotations

import asyncio
import io
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import BaseModel
from rich.progress import Progress

from agrorisk_common.procedural import draw_leaf


class BenchError(RuntimeError):
    """The benchmark could not run (the target is unreachable)."""


class GeminiDown(BaseModel):
    """The same photo while Gemini is unreachable: compares must still bring the local result,
    within the local model's p95 + 1 s."""

    requests: int
    concurrency: int
    local_p95_ms: float
    compare_p95_ms: float
    compare_with_local_result: int
    within_local_p95_plus_1s: bool


class BenchResult(BaseModel):
    target: str
    route: str = "/v1/compare"
    started_at: str
    requests: int
    concurrency: int
    errors: int
    error_samples: list[str]
    throughput_rps: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    gemini_down: GeminiDown | None = None


def bench_photo(size: int = 320) -> bytes:
    image, _ = draw_leaf(0, random.Random(0), size=size)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def run_load(
    url: str,
    image: bytes,
    requests: int,
    concurrency: int,
    progress: Progress | None = None,
    route: str = "/v1/compare",
    sides: tuple[str, ...] = ("local", "gemini"),
) -> BenchResult:
    """`requests` calls of `route`, `concurrency` at a time; an error is a non-200 or an answer in which
    one of `sides` failed (the predict route's answer is the local side itself)."""
    latencies: list[float] = []
    errors: list[str] = []
    semaphore = asyncio.Semaphore(concurrency)
    task = progress.add_task(f"{route} requests", total=requests) if progress else None
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one() -> None:
            async with semaphore:
                started = time.perf_counter()
                try:
                    response = await client.post(route, files={"file": ("leaf.jpg", image, "image/jpeg")})
                    latencies.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
                    else:
                        body = response.json()
                        answers = [body] if route == "/v1/predict" else [body[side] for side in sides]
                        failed = [answer["error"] for answer in answers if answer["error"]]
                        if failed:
                            errors.append("; ".join(failed))
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                if progress is not None and task is not None:
                    progress.advance(task)

        started_at = datetime.now(UTC).isoformat()
        wall = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        wall = time.perf_counter() - wall
    if not latencies:
        raise BenchError(f"no request to {url} got an answer: {errors[:1]}")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return BenchResult(
        target=url,
        route=route,
        started_at=started_at,
        requests=requests,
        concurrency=concurrency,
        errors=len(errors),
        error_samples=list(dict.fromkeys(errors))[:5],
        throughput_rps=round(requests / wall, 2),
        mean_ms=round(statistics.fmean(latencies), 1),
        p50_ms=round(cuts[49], 1),
        p95_ms=round(cuts[94], 1),
        p99_ms=round(cuts[98], 1),
        max_ms=round(max(latencies), 1),
    )


async def run_bench(
    out: Path, requests: int, concurrency: int, url: str, gemini_down_url: str | None = None
) -> BenchResult:
    """Load the backend at `url`; with `gemini_down_url` (the same backend set up with an unreachable
    Gemini), also compare local-only predicts with compares there. Writes the result as JSON to `out`."""
    with Progress() as progress:
        result = await run_load(url, bench_photo(), requests, concurrency, progress)
        if gemini_down_url:
            result.gemini_down = await _gemini_down(gemini_down_url, progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def summary(result: BenchResult, out: Path) -> str:
    """One line: errors, latency percentiles and throughput of the run written to `out`."""
    return (
        f"{result.requests} compare requests at concurrency {result.concurrency}: {result.errors} errors, "
        f"p50 {result.p50_ms:.0f} ms, p95 {result.p95_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, "
        f"{result.throughput_rps:.1f} req/s -> {out}"
    )


async def _gemini_down(url: str, progress: Progress, requests: int = 50, concurrency: int = 10) -> GeminiDown:
    """Local-only predicts, then compares with Gemini down, on the same backend and photo."""
    photo = bench_photo()
    local = await run_load(url, photo, requests, concurrency, progress, route="/v1/predict")
    down = await run_load(url, photo, requests, concurrency, progress, sides=("local",))
    return GeminiDown(
        requests=requests,
        concurrency=concurrency,
        local_p95_ms=local.p95_ms,
        compare_p95_ms=down.p95_ms,
        compare_with_local_result=requests - down.errors,
        within_local_p95_plus_1s=down.p95_ms <= local.p95_ms + 1000,
    )
