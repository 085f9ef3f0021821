"""Ray Serve on loopback: same detections as in-process, clear errors, hot reload, metrics."""

from __future__ import annotations

import asyncio
import io
import time

import httpx
import pytest
from PIL import Image

from agrorisk_common.detection import Prediction
from agrorisk_common.images import decode_image
from agrorisk_common.serving import DetectorClient
from agrorisk_devtools.serving_checks import assert_same_detections, promote_while_serving
from agrorisk_serving.detector import OnnxDetector, predict
from agrorisk_serving.model_source import ModelSource
from agrorisk_serving.ray_client import RayDetectorClient
from agrorisk_storage import ModelRegistry

pytestmark = pytest.mark.slow


def in_process(storage, settings, image: bytes) -> Prediction:
    model = ModelSource.from_settings(storage).pull()
    detector = OnnxDetector(model, settings.detection_params)
    return predict(detector, [decode_image(image).image])[0]


def test_serves_the_same_detections_as_in_process(ray_serve, model_registry, sample_images):
    settings, url = ray_serve
    storage, _ = model_registry

    async def run() -> list[Prediction]:
        client = RayDetectorClient(url)
        assert isinstance(client, DetectorClient)
        try:
            assert await client.health()
            return await asyncio.gather(*(client.predict(image) for image in sample_images))
        finally:
            await client.aclose()

    served = asyncio.run(run())
    for image, prediction in zip(sample_images, served, strict=True):
        local = in_process(storage, settings, image)
        assert_same_detections(prediction, local)
        assert prediction.model_version == "v1"
        assert prediction.latency_ms > 0
    # settings.device is auto: ONNX Runtime without its CUDA provider (the onnxruntime package) runs on the CPU
    assert httpx.get(f"{url}/version").json()["device"] == "cpu"


def test_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving(ray_serve, sample_images):
    settings, url = ray_serve
    not_an_image = httpx.post(f"{url}/predict", content=b"%PDF-1.4 not a photo")
    assert not_an_image.status_code == 415
    assert "not an image" in not_an_image.json()["detail"]

    too_big = httpx.post(f"{url}/predict", content=b"\xff\xd8\xff" + bytes(settings.max_image_bytes))
    assert too_big.status_code == 413 and "limit" in too_big.json()["detail"]

    buffer = io.BytesIO()
    Image.new("RGB", (1200, 1000)).save(buffer, format="PNG")  # small file, too many pixels
    too_many_pixels = httpx.post(f"{url}/predict", content=buffer.getvalue())
    assert too_many_pixels.status_code == 413 and too_many_pixels.json()["kind"] == "too_many_pixels"

    truncated = httpx.post(f"{url}/predict", content=sample_images[0][:200])
    assert truncated.status_code == 422

    wrong_method = httpx.get(f"{url}/predict")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    unknown = httpx.get(f"{url}/nowhere")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "Not Found"}

    async def via_client() -> Prediction:
        client = RayDetectorClient(url)
        try:
            return await client.predict(b"hello")
        finally:
            await client.aclose()

    prediction = asyncio.run(via_client())
    assert prediction.detections == [] and "415" in prediction.error
    assert httpx.post(f"{url}/predict", content=sample_images[0]).status_code == 200


def test_client_reports_a_down_server_without_raising():
    async def run() -> tuple[Prediction, bool]:
        client = RayDetectorClient("http://127.0.0.1:9", timeout_s=2)
        try:
            return await client.predict(b"\xff\xd8\xff"), await client.health()
        finally:
            await client.aclose()

    prediction, healthy = asyncio.run(run())
    assert not healthy and "unreachable" in prediction.error


def test_new_production_version_is_served_without_dropping_requests(ray_serve, model_registry, sample_images):
    _, url = ray_serve
    storage, files = model_registry
    promote_while_serving(
        RayDetectorClient(url), sample_images, ModelRegistry.from_settings(storage), files,
        {"class_names": settings_class_names(url), "imgsz": 64, "creator": "tests"},
        served_version=lambda: httpx.get(f"{url}/version").json()["model_version"],
    )  # fmt: skip


def settings_class_names(url: str) -> list[str]:
    return httpx.get(f"{url}/version").json()["class_names"]


def test_prometheus_metrics_count_requests_batches_and_version(ray_serve, sample_images):
    settings, url = ray_serve
    for image in sample_images:
        assert httpx.post(f"{url}/predict", content=image).status_code == 200
    wanted = (
        "ray_agrorisk_requests_total",
        "ray_agrorisk_request_latency_ms_bucket",
        "ray_agrorisk_batch_size",
    )
    deadline, text = time.monotonic() + 60, ""
    while time.monotonic() < deadline:
        text = httpx.get(f"http://127.0.0.1:{settings.metrics_port}/metrics").text
        if all(name in text for name in (*wanted, "ray_agrorisk_model_version_info{")):
            break
        time.sleep(1)
    for name in wanted:
        assert name in text
    assert 'status="200"' in text
    assert 'version="v' in text


def test_requests_go_through_haproxy_straight_to_the_replica(ray_serve, sample_images):
    """The default ingress: HAProxy balances over the replicas' own ports; its stats page shows it."""
    settings, url = ray_serve
    stats_url = f"http://127.0.0.1:{settings.haproxy_stats_port}/stats;csv"
    before = replica_sessions(httpx.get(stats_url).text)
    for image in sample_images:
        assert httpx.post(f"{url}/predict", content=image).status_code == 200
    after = replica_sessions(httpx.get(stats_url).text)
    assert len(after) == settings.num_replicas
    assert sum(after.values()) - sum(before.values()) >= len(sample_images)


def replica_sessions(stats_csv: str) -> dict[str, int]:
    """Total sessions per Serve replica server from HAProxy's CSV stats."""
    header, *rows = stats_csv.lstrip("# ").splitlines()
    rows = [dict(zip(header.split(","), row.split(","), strict=False)) for row in rows]
    return {r["svname"]: int(r["stot"]) for r in rows if r["svname"].startswith("SERVE_REPLICA")}


def test_predict_cli_answers_like_the_server(ray_serve, model_registry, sample_images, tmp_path, monkeypatch):
    """`agrorisk-ray predict` runs the serving engine: the same boxes as the server for the same photo."""
    from typer.testing import CliRunner

    from agrorisk_ray.cli import app

    settings, url = ray_serve
    storage, _ = model_registry
    monkeypatch.setenv("AGRORISK_RAY_CONF_THRESHOLD", str(settings.conf_threshold))  # the server's
    monkeypatch.setenv("AGRORISK_STORAGE_LOCAL_ROOT", str(storage.local_root))
    monkeypatch.setenv("AGRORISK_STORAGE_CACHE_DIR", str(tmp_path / "cache"))
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, image in enumerate(sample_images):
        (photos / f"leaf-{i}.jpg").write_bytes(image)
    (photos / "broken.jpg").write_bytes(b"not a photo")
    result = CliRunner().invoke(app, ["predict", str(photos), "--out", str(tmp_path / "out")])
    assert (
        result.exit_code == 1 and f"1 of {len(sample_images) + 1} photo(s) could not be read" in result.output
    )
    assert "model v1" in result.output and "Traceback" not in result.output

    async def served() -> list[Prediction]:
        client = RayDetectorClient(url)
        try:
            return await asyncio.gather(*(client.predict(image) for image in sample_images))
        finally:
            await client.aclose()

    for i, prediction in enumerate(asyncio.run(served())):
        written = Prediction.model_validate_json((tmp_path / "out" / f"leaf-{i}.json").read_text())
        assert_same_detections(prediction, written)
        assert written.model_version == prediction.model_version == "v1"
        assert Image.open(tmp_path / "out" / f"leaf-{i}.jpg").size == (
            written.image_width,
            written.image_height,
        )
