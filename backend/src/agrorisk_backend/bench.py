"""Load run of the compare route of a running backend: throughput, latency percentiles and errors."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import BaseModel
from rich.progress import Progress

from agrorisk_common.load_test import LoadStats, closed_loop
from agrorisk_common.procedural import draw_leaf


class BenchError(RuntimeError):
    """The benchmark could not run (the target is unreachable or fails every request)."""


class GeminiDown(BaseModel):
    """The same photo while Gemini is unreachable: compares must still bring the local result,
    within the local model's p95 + 1 s."""

    requests: int
    concurrency: int
    local_p95_ms: float
    compare_p95_ms: float
    compare_with_local_result: int
    within_local_p95_plus_1s: bool


class BenchResult(LoadStats):
    target: str
    route: str = "/v1/compare"
    started_at: str
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
    route: str = "/v1/compare",
    sides: tuple[str, ...] = ("local", "gemini"),
    progress: Progress | None = None,
) -> BenchResult:
    """`requests` calls of `route`, `concurrency` at a time; an error is a non-200 or an answer in which
    one of `sides` failed (the predict route's answer is the local side itself)."""
    task = progress.add_task(f"{route} requests", total=requests) if progress else None
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one(_: int) -> str | None:
            response = await client.post(route, files={"file": ("leaf.jpg", image, "image/jpeg")})
            if response.status_code != 200:
                return f"HTTP {response.status_code}: {response.text[:200]}"
            body = response.json()
            answers = [body] if route == "/v1/predict" else [body[side] for side in sides]
            return "; ".join(answer["error"] for answer in answers if answer["error"]) or None

        started_at = datetime.now(UTC).isoformat()
        advance = (lambda: progress.advance(task)) if progress is not None and task is not None else None
        stats = await closed_loop(one, requests, concurrency, advance)
    if stats.errors == requests:
        raise BenchError(f"no request to {url}{route} succeeded: {stats.error_samples[0]}")
    return BenchResult(target=url, route=route, started_at=started_at, **stats.model_dump())


async def run_bench(
    out: Path, requests: int, concurrency: int, url: str, gemini_down_url: str | None = None
) -> BenchResult:
    """Load the backend at `url`; with `gemini_down_url` (the same backend set up with an unreachable
    Gemini), also compare local-only predicts with compares there. Writes the result as JSON to `out`."""
    with Progress() as progress:
        result = await run_load(url, bench_photo(), requests, concurrency, progress=progress)
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
    local = await run_load(url, photo, requests, concurrency, route="/v1/predict", progress=progress)
    down = await run_load(url, photo, requests, concurrency, sides=("local",), progress=progress)
    return GeminiDown(
        requests=requests,
        concurrency=concurrency,
        local_p95_ms=local.p95_ms,
        compare_p95_ms=down.p95_ms,
        compare_with_local_result=requests - down.errors,
        within_local_p95_plus_1s=down.p95_ms <= local.p95_ms + 1000,
    )
