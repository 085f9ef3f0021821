"""One product path, end to end: the Dagster flow's production model served by Ray behind the backend;
people's corrections through the backend make the sensor request retraining; the `retrain` job
fine-tunes production, the gate promotes the candidate, Ray reloads it, and the backend answers with
the new version — no restart anywhere. Then drift: the reference made by the live Ray server, replayed
through the backend, shows no drift; the same photos at night do."""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from agrorisk_common.procedural import draw_leaf
from agrorisk_devtools.backend_stack import backend_env, backend_server, ray_serve
from agrorisk_devtools.flow_stack import RISKS, flow_resources
from agrorisk_pipeline.defs.resources import ServingResource
from agrorisk_pipeline.defs.sensors import retrain_on_feedback
from agrorisk_pipeline.flow import materialize_flow, run_job
from agrorisk_storage import StorageSettings

pytestmark = pytest.mark.slow


def e2e_resources(tmp: Path, **overrides) -> dict:
    """The flow on drawn leaves (fast), reading the prediction log and feedback the backend writes."""
    data = tmp / "data"
    return flow_resources(
        tmp, data_source="procedural", images_per_class=40,
        prediction_log_dir=str(data / "prediction-log"), feedback_dir=str(data / "feedback"),
        reference_max_images=20, **overrides,
    )  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Path, dg.DagsterInstance, str, str]]:
    tmp = tmp_path_factory.mktemp("retrain-e2e")
    instance = dg.DagsterInstance.ephemeral()
    first = materialize_flow(resources=e2e_resources(tmp), instance=instance)
    assert first.success, first.failed_steps
    storage = StorageSettings(local_root=tmp / "registry", cache_dir=tmp / "cache")
    reload = {"AGRORISK_RAY_RELOAD_INTERVAL_S": "1"}
    with (
        ray_serve(storage, tmp / "ray.log", ingress="proxy", env=reload) as ray_url,
        backend_server(backend_env(storage, ray_url, tmp / "data"), tmp / "backend.log") as url,
    ):
        yield tmp, instance, url, ray_url


def _leaf_jpeg(seed: int) -> bytes:
    image, _ = draw_leaf(0, random.Random(seed), 96)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def _night(photo: bytes) -> bytes:
    """The photo as at night: darkened, washed out, blurred."""
    with Image.open(io.BytesIO(photo)) as image:
        dark = ImageEnhance.Brightness(image.convert("RGB")).enhance(0.25)
        dark = ImageEnhance.Color(dark).enhance(0.4).filter(ImageFilter.GaussianBlur(3))
    buffer = io.BytesIO()
    dark.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _served_version(url: str) -> str | None:
    answer = httpx.post(
        f"{url}/v1/predict", files={"file": ("leaf.jpg", _leaf_jpeg(0), "image/jpeg")}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["model_version"]


def test_corrections_retrain_promote_and_the_backend_serves_the_new_version(served):
    tmp, instance, url, _ = served
    # Production trained one epoch (it finds nothing yet); the retraining trains thirty more from it.
    res = e2e_resources(tmp, epochs=30, imgsz=128, gate_margin=0.0)
    models = res["registry"].models()
    before = models.aliases()["production"]
    assert _served_version(url) == before

    for seed in (1, 2):  # a person says the answer was wrong and names the right risk, through the API
        form = {"verdict": "wrong", "source": "local", "correct_risk_id": RISKS[1]}
        answer = httpx.post(f"{url}/v1/feedback", files={"file": ("leaf.jpg", _leaf_jpeg(seed), "image/jpeg")},
                            data=form, timeout=30)  # fmt: skip
        assert answer.status_code == 201, answer.text

    request = retrain_on_feedback(dg.build_sensor_context(resources={"flow": res["flow"]}))
    assert isinstance(request, dg.RunRequest) and request.tags["agrorisk/trigger"] == "feedback"
    result = run_job("retrain", res, instance, tags=request.tags)
    assert result.success

    after = models.aliases()["production"]
    assert after != before
    lineage = models.show(after).metadata["lineage"]
    assert lineage["parent_version"] == before and lineage["start"].startswith(f"production {before}")

    deadline = time.monotonic() + 90  # Ray checks the alias every second and reloads without a restart
    while (version := _served_version(url)) != after and time.monotonic() < deadline:
        time.sleep(1)
    assert version == after, f"the backend still answers with {version}, production is {after}"


def test_the_drift_reference_replayed_through_the_live_server_shows_no_drift_and_night_photos_do(served):
    tmp, instance, url, ray_url = served
    res = e2e_resources(tmp, drift_window=20)  # the 20 latest answers: the batch just sent
    res["serving"] = ServingResource(url=ray_url)  # the reference is made by the live Ray server itself
    monitoring = run_job("monitoring", res, instance)
    assert monitoring.success
    batch = instance.get_latest_materialization_event(dg.AssetKey("batch_inference")).asset_materialization
    reference = [
        json.loads(line) for line in Path(batch.metadata["reference"].value).read_text().splitlines()
    ]
    assert len(reference) == 20

    def drift_after(photos: list[bytes]) -> dict:
        for photo in photos:  # through the backend, which logs every answer of the served model
            answer = httpx.post(
                f"{url}/v1/predict", files={"file": ("p.jpg", photo, "image/jpeg")}, timeout=60
            )
            assert answer.status_code == 200, answer.text
        run = materialize_flow(resources=res, instance=instance, selection="drift_report")
        assert run.success, run.summary
        event = instance.get_latest_materialization_event(dg.AssetKey("drift_report")).asset_materialization
        return {key: value.value for key, value in event.metadata.items()}

    photos = [Path(record["image_path"]).read_bytes() for record in reference]
    replay = drift_after(photos)
    assert replay["outputs"] == "compared" and replay["n_current"] == 20, replay
    assert replay["status"] == "ok" and replay["drifted_columns"] == [], replay

    night = drift_after([_night(photo) for photo in photos])
    assert night["status"] == "drift" and night["dataset_drift"], night
    assert {"brightness", "saturation", "sharpness"} <= set(night["drifted_columns"]), night
