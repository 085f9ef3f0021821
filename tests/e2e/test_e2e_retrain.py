"""One product path, end to end: the Dagster flow's production model served by Ray behind the backend;
people's corrections through the backend make the sensor request retraining; the `retrain` job
fine-tunes production, the gate promotes the candidate, Ray reloads it, and the backend answers with
the new version — no restart anywhere."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest

from agrorisk_common.procedural import draw_leaf
from agrorisk_devtools.backend_stack import backend_env, backend_server, ray_serve
from agrorisk_devtools.flow_stack import RISKS, flow_resources
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
def served(tmp_path_factory) -> Iterator[tuple[Path, dg.DagsterInstance, str]]:
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
        yield tmp, instance, url


def _leaf_jpeg(seed: int) -> bytes:
    import io
    import random

    image, _ = draw_leaf(0, random.Random(seed), 96)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def _served_version(url: str) -> str | None:
    answer = httpx.post(
        f"{url}/v1/predict", files={"file": ("leaf.jpg", _leaf_jpeg(0), "image/jpeg")}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["model_version"]


def test_corrections_retrain_promote_and_the_backend_serves_the_new_version(served):
    tmp, instance, url = served
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
