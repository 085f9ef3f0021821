"""The backend as it runs: `agrorisk-backend serve` (uvicorn) + Ray Serve + the fake Gemini server,
and a bounded loopback load run of the compare route."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from agrorisk_backend.bench import bench_photo, run_load
from agrorisk_devtools.backend_stack import backend_env, backend_server

ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_backend(ray_stack, fake_gemini, tmp_path_factory):
    ray_url, storage = ray_stack
    work = tmp_path_factory.mktemp("live-backend")
    env = backend_env(storage, ray_url, work / "data", fake_gemini.base_url, "test-gemini-key")
    with backend_server(env, work / "backend.log") as url:
        yield url, work


def test_live_compare_over_http(live_backend, fake_gemini, leaf):
    url, work = live_backend
    fake_gemini.reset()
    response = httpx.post(f"{url}/v1/compare", files={"file": ("leaf.jpg", leaf, "image/jpeg")}, timeout=60)
    assert response.status_code == 200
    body = response.json()
    assert body["local"]["model_version"] == "v1" and body["local"]["detections"]
    assert body["gemini"]["error"] is None and body["gemini"]["detections"]  # the fake's echo answer
    assert body["agreement"] is not None and body["risks"]
    assert httpx.get(f"{url}/readyz").json()["ready"] is True
    assert list((work / "data" / "prediction-log").glob("*.jsonl"))


def test_load_run_of_200_compares_at_concurrency_10(live_backend, fake_gemini):
    url, _ = live_backend
    fake_gemini.reset()
    result = asyncio.run(run_load(url, bench_photo(), requests=200, concurrency=10))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load-compare.json").write_text(result.model_dump_json(indent=2))
    print(
        f"\n200 compares @10: p50 {result.p50_ms} ms, p95 {result.p95_ms} ms, {result.throughput_rps} req/s"
    )
    assert result.errors == 0, result.error_samples
    assert result.requests == 200 and result.p95_ms >= result.p50_ms > 0
