"""The benchmark's Triton leg: `agrorisk-triton serve` as a separate process, queried over HTTP."""

from __future__ import annotations

import asyncio
import os

import pytest

from agrorisk_common.images import decode_image
from agrorisk_devtools.serving_checks import assert_same_detections
from agrorisk_ray.bench_triton import TritonProcess, TritonUnavailable, settings_env, triton_environment
from agrorisk_ray.settings import Settings
from agrorisk_serving.detector import DetectionParams, OnnxDetector, predict
from agrorisk_serving.model_source import ModelSource
from agrorisk_serving.triton_client import TritonDetectorClient


def triton_env(storage, **overrides: str) -> tuple[dict[str, str], int]:
    env, http_port = triton_environment(Settings(conf_threshold=0.001))
    storage_env = settings_env("AGRORISK_STORAGE_", storage)
    return {**storage_env, **env, "AGRORISK_TRITON_INSTANCES": "1", **overrides}, http_port


def assert_group_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


@pytest.mark.slow
def test_triton_process_serves_in_process_detections_and_stops_its_whole_group(model_registry, sample_images):
    storage, _ = model_registry
    env, http_port = triton_env(storage)
    with TritonProcess(env, http_port) as server:
        pid = server.process.pid

        async def run():
            client = TritonDetectorClient(server.url, concurrency=4)
            try:
                assert await client.health()
                return await asyncio.gather(*(client.predict(image) for image in sample_images))
            finally:
                await client.aclose()

        served = asyncio.run(run())
    assert_group_gone(pid)

    detector = OnnxDetector(ModelSource.from_settings(storage).pull(), DetectionParams(0.001, 0.45, 100))
    for image, prediction in zip(sample_images, served, strict=True):
        local = predict(detector, [decode_image(image).image])[0]
        assert_same_detections(prediction, local)
        assert prediction.model_version == "v1"


def test_triton_process_that_cannot_start_says_why(model_registry):
    storage, _ = model_registry
    env, http_port = triton_env(storage, AGRORISK_TRITON_MAX_BATCH_SIZE="0")
    server = TritonProcess(env, http_port, startup_timeout_s=60)
    with pytest.raises(TritonUnavailable, match="max_batch_size"), server:
        pass
    assert server.process is None and not server.log_path.exists()
