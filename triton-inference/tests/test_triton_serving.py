"""PyTriton's real tritonserver on loopback: same detections as in-process over HTTP and gRPC,
clear per-request errors, hot reload without dropped requests."""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest
from PIL import Image

from agrorisk_common.detection import Prediction
from agrorisk_common.images import decode_image
from agrorisk_common.serving import DetectorClient
from agrorisk_devtools.serving_checks import assert_same_detections, promote_while_serving
from agrorisk_serving.detector import OnnxDetector, predict
from agrorisk_serving.model_source import ModelSource
from agrorisk_serving.triton_client import TritonDetectorClient
from agrorisk_storage import ModelRegistry

pytestmark = pytest.mark.slow


def client_for(settings, protocol: str = "http") -> TritonDetectorClient:
    port = settings.http_port if protocol == "http" else settings.grpc_port
    return TritonDetectorClient(f"127.0.0.1:{port}", protocol=protocol, timeout_s=30)


async def predict_all(client: TritonDetectorClient, images: list[bytes]) -> list[Prediction]:
    try:
        return await asyncio.gather(*(client.predict(image) for image in images))
    finally:
        await client.aclose()


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_serves_the_same_detections_as_in_process(
    triton_server, triton_model_registry, triton_images, protocol
):
    settings, _ = triton_server
    storage, _, _ = triton_model_registry
    client = client_for(settings, protocol)
    assert isinstance(client, DetectorClient)
    served = asyncio.run(predict_all(client, triton_images))
    detector = OnnxDetector(ModelSource.from_settings(storage).pull(), settings.detection_params)
    for image, prediction in zip(triton_images, served, strict=True):
        local = predict(detector, [decode_image(image).image])[0]
        assert_same_detections(prediction, local)
        assert prediction.model_version == "v1"


def test_bad_images_fail_alone_with_clear_errors(triton_server, triton_images):
    settings, _ = triton_server
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 1000)).save(buffer, format="PNG")
    bad = [b"%PDF-1.4 not a photo", b"\xff\xd8\xff" + bytes(settings.max_image_bytes), buffer.getvalue()]
    results = asyncio.run(predict_all(client_for(settings), [*bad, triton_images[0]]))
    not_image, too_big, too_many_pixels, good = results
    assert "415" in not_image.error and "not an image" in not_image.error
    assert "413" in too_big.error and "limit" in too_big.error
    assert "413" in too_many_pixels.error and "MP" in too_many_pixels.error
    assert good.error is None and good.detections  # batched with bad ones, still answered
    ready = httpx.get(f"http://127.0.0.1:{settings.http_port}/v2/health/ready")
    assert ready.status_code == 200


def test_client_reports_a_down_server_without_raising():
    client = TritonDetectorClient("127.0.0.1:9", timeout_s=2)

    async def run():
        try:
            return await client.predict(b"\xff\xd8\xff"), await client.health()
        finally:
            await client.aclose()

    prediction, healthy = asyncio.run(run())
    assert not healthy and prediction.error.startswith("Triton at 127.0.0.1:9 failed")


def test_new_production_version_is_served_without_dropping_requests(
    triton_server, triton_model_registry, triton_images
):
    settings, server = triton_server
    storage, files, class_names = triton_model_registry
    promote_while_serving(
        client_for(settings), triton_images, ModelRegistry.from_settings(storage), files,
        {"class_names": class_names, "imgsz": 64, "creator": "tests"},
        served_version=lambda: server.model.version,
    )  # fmt: skip
