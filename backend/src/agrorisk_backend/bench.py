"""Load run of the compare route on loopback: throughput, latency percentiles and errors."""

from __future__ import annotations

import asyncio
import io
import random
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import BaseModel
from rich.progress import Progress

from agrorisk_common.catalog import load_catalog
from agrorisk_common.ports import free_port
from agrorisk_common.procedural import draw_leaf


class BenchError(RuntimeError):
    """The benchmark could not run (a server did not start, the target is unreachable)."""


class GeminiDown(BaseModel):
    """The same photo while Gemini's stand-in is down: compares must still bring the local result,
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


async def run_bench(out: Path, requests: int, concurrency: int, url: str | None = None) -> BenchResult:
    """Load `url`, or (without one) a local stack started here: Ray Serve with a one-epoch model, the
    fake Gemini server and the backend. Writes the result as JSON to `out`."""
    from agrorisk_backend.testing import StackError, backend_env, backend_server, ray_serve, smoke_registry
    from agrorisk_gemini.testing import FakeGeminiServer

    down_url = None
    with ExitStack() as stack, Progress() as progress:
        if url is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="agrorisk-bench-")))
            progress.console.print("starting Ray Serve (one-epoch model), fake Gemini and the backend…")
            try:
                storage = await asyncio.to_thread(smoke_registry, work, [r.id for r in load_catalog()][:2])
                ray_url = stack.enter_context(ray_serve(storage, work / "ray-serve.log"))
                gemini = stack.enter_context(FakeGeminiServer(api_key="bench-key"))
                env = backend_env(storage, ray_url, work / "data", gemini.base_url, "bench-key")
                url = stack.enter_context(backend_server(env, work / "backend.log"))
                # Gemini's stand-in stopped: nothing listens on its port any more.
                down_env = backend_env(
                    storage, ray_url, work / "data-down", f"http://127.0.0.1:{free_port()}", "bench-key"
                )
                down_url = stack.enter_context(backend_server(down_env, work / "backend-down.log"))
            except StackError as exc:
                raise BenchError(str(exc)) from None
        result = await run_load(url, bench_photo(), requests, concurrency, progress)
        if down_url:
            result.gemini_down = await _gemini_down(down_url, progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


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
