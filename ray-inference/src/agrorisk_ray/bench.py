"""Three-way load test: bare in-process ONNX Runtime vs Ray Serve vs Triton, same model, same images.

Each target gets the same closed-loop load (`concurrency` workers, `requests` in total, images in
rotation) through its real entry point: the bare target decodes and runs ONNX Runtime in threads of
this process; Ray Serve is started locally and Triton runs as its own process (`agrorisk-triton
serve`), both called over HTTP by their clients.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from agrorisk_common.detection import Prediction
from agrorisk_common.images import decode_image
from agrorisk_common.load_test import LoadStats, closed_loop
from agrorisk_common.ports import free_port
from agrorisk_ray.bench_triton import TritonProcess, settings_env, triton_environment
from agrorisk_serving.detector import DetectionParams, OnnxDetector, cpu_count, predict
from agrorisk_serving.model_source import ModelVersion
from agrorisk_serving.stage_bench import square_jpeg
from agrorisk_serving.triton_client import TritonDetectorClient

Predict = Callable[[bytes], Awaitable[Prediction]]


class TargetResult(LoadStats):
    """One target at one concurrency level."""

    target: str


class BenchReport(BaseModel):
    model_version: str
    imgsz: int
    cpus: int
    images: int
    results: list[TargetResult]
    ratios: dict[str, float]  # "ray/bare@8": throughput ratio
    settings: dict

    def table(self) -> list[list[str]]:
        return [
            [
                r.target,
                str(r.concurrency),
                str(r.requests),
                str(r.errors),
                f"{r.throughput_rps:.1f}",
                f"{r.p50_ms:.1f}",
                f"{r.p95_ms:.1f}",
                f"{r.p99_ms:.1f}",
            ]
            for r in self.results
        ]


def load_images(folder: Path, limit: int, size: int | None = None) -> list[bytes]:
    """The first `limit` photos of `folder` (by name), as they are or re-encoded as size x size JPEGs."""
    files = sorted(
        p for p in Path(folder).iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"}
    )
    if not files:
        raise ValueError(f"no .jpg/.png/.webp images in {folder}")
    return [square_jpeg(p, size) if size else p.read_bytes() for p in files[:limit]]


async def run_load(
    target: str,
    call: Predict,
    images: Sequence[bytes],
    concurrency: int,
    requests: int,
    on_done: Callable[[], None] | None = None,
) -> TargetResult:
    """Closed-loop load on one target, the images in rotation; a prediction's error counts as an error."""

    async def one(i: int) -> str | None:
        return (await call(images[i % len(images)])).error

    stats = await closed_loop(one, requests, concurrency, on_done)
    return TargetResult(target=target, **stats.model_dump())


class BareOnnx:
    """The baseline: decode + ONNX Runtime in this process, one image per call, calls in threads."""

    name = "bare"

    def __init__(self, model: ModelVersion, params: DetectionParams):
        self.detector = OnnxDetector(model, params)

    async def predict(self, image: bytes) -> Prediction:
        return await asyncio.to_thread(self._predict, image)

    def _predict(self, image: bytes) -> Prediction:
        return predict(self.detector, [decode_image(image).image])[0]

    async def health(self) -> bool:
        return True

    async def aclose(self) -> None:
        """Nothing to release: the session lives as long as this object."""


def ratios(results: Sequence[TargetResult]) -> dict[str, float]:
    """Throughput of each served target over bare ONNX Runtime's, per concurrency level."""
    bare = {r.concurrency: r.throughput_rps for r in results if r.target == "bare"}
    return {
        f"{r.target}/bare@{r.concurrency}": r.throughput_rps / bare[r.concurrency]
        for r in results
        if r.target != "bare" and bare.get(r.concurrency)
    }


async def _load_all(target: str, client, images, levels, requests, progress) -> list[TargetResult]:
    results = []
    try:
        await run_load(target, client.predict, images, max(levels), min(requests, 2 * max(levels)))  # warm-up
        for level in levels:
            task = progress.add_task(f"{target} @ {level}", total=requests) if progress else None
            advance = (lambda t=task: progress.advance(t)) if progress else None
            results.append(await run_load(target, client.predict, images, level, requests, advance))
    finally:
        await client.aclose()
    return results


def run_benchmark(
    model: ModelVersion,
    storage,
    images: Sequence[bytes],
    levels: Sequence[int],
    requests: int,
    ray_settings,
    triton: bool = True,
    progress=None,
) -> BenchReport:
    """Bare ONNX Runtime, then Ray Serve, then Triton (each started, loaded, stopped in turn)."""
    from agrorisk_ray import server
    from agrorisk_serving.ray_client import RayDetectorClient

    bare_params = ray_settings.detection_params  # the replicas' threads, thresholds and device
    results = asyncio.run(_load_all("bare", BareOnnx(model, bare_params), images, levels, requests, progress))

    ports = ("port", "metrics_port", "haproxy_stats_port", "haproxy_metrics_port", "fallback_proxy_port")
    ray_settings = ray_settings.model_copy(update={p: free_port() for p in ports} | {"reload_interval_s": 0})
    url = server.start(ray_settings, storage)
    try:
        results += asyncio.run(_load_all("ray", RayDetectorClient(url), images, levels, requests, progress))
    finally:
        server.stop()

    triton_env = None
    if triton:
        triton_env, http_port = triton_environment(ray_settings)
        task = progress.add_task("triton: starting", total=None) if progress else None
        with TritonProcess({**settings_env("AGRORISK_STORAGE_", storage), **triton_env}, http_port) as server:
            if progress:
                progress.remove_task(task)
            client = TritonDetectorClient(server.url, concurrency=max(levels))
            results += asyncio.run(_load_all("triton", client, images, levels, requests, progress))

    return BenchReport(
        model_version=model.version,
        imgsz=model.imgsz,
        cpus=cpu_count(),
        images=len(images),
        results=results,
        ratios=ratios(results),
        settings={
            "bare": {"intra_op_threads": bare_params.intra_op_threads, "batch": 1},
            "ray": ray_settings.model_dump(mode="json"),
            "triton": _triton_settings(triton_env) if triton_env is not None else None,
        },
    )


def _triton_settings(overrides: dict[str, str]) -> dict[str, str]:
    """The AGRORISK_TRITON_* variables the Triton process ran with (the user's, then the bench's)."""
    env = {k: v for k, v in os.environ.items() if k.startswith("AGRORISK_TRITON_")}
    return {k.removeprefix("AGRORISK_TRITON_").lower(): v for k, v in {**env, **overrides}.items()}
