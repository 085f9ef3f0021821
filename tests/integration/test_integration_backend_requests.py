"""Backend → Dagster through the files the backend writes: retrain requests of `POST /v1/admin/retrain`
launch `retrain_on_request` runs, and feedback of `POST /v1/feedback` reaches `retrain_on_feedback` and
the active-learning selection with its photo. The real backend app (TestClient); no model server is
needed for these routes."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from agrorisk_backend.main import create_app
from agrorisk_backend.settings import Settings
from agrorisk_common.catalog import load_catalog
from agrorisk_common.procedural import draw_leaf
from agrorisk_gemini.settings import GeminiSettings
from agrorisk_pipeline.active_learning import read_feedback, select_for_review
from agrorisk_pipeline.defs.resources import FlowResource
from agrorisk_pipeline.defs.sensors import retrain_on_feedback, retrain_on_request
from agrorisk_pipeline.settings import Settings as PipelineSettings
from agrorisk_storage import StorageSettings

ADMIN = {"X-API-Key": "admin-key"}


@pytest.fixture
def backend(tmp_path) -> Iterator[TestClient]:
    settings = Settings(ray_url="http://127.0.0.1:9", data_dir=tmp_path / "data", admin_api_key="admin-key")
    storage = StorageSettings(local_root=tmp_path / "registry", cache_dir=tmp_path / "cache")
    app = create_app(settings, GeminiSettings(api_key=None), storage)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def flow_for(client: TestClient, tmp_path) -> FlowResource:
    """The pipeline's flow resource pointed at the folders the backend writes."""
    settings = client.app.state.services.settings
    return FlowResource.from_settings(
        PipelineSettings(),
        work_dir=str(tmp_path / "work"), prediction_log_dir=str(settings.prediction_log_dir),
        feedback_dir=str(settings.feedback_dir), retrain_requests_dir=str(settings.retrain_requests_dir),
        feedback_min_new=2,
    )  # fmt: skip


def leaf_jpeg(seed: int) -> bytes:
    image, _ = draw_leaf(0, random.Random(seed), size=96)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def test_each_retrain_request_of_the_admin_api_launches_one_retrain_run(backend, tmp_path):
    flow = flow_for(backend, tmp_path)
    reasons = ["drift on brightness", "new labels from the field", "after the fix"]
    for reason in reasons[:2]:
        assert backend.post("/v1/admin/retrain", json={"reason": reason}, headers=ADMIN).status_code == 202

    context = dg.build_sensor_context(resources={"flow": flow})
    first = retrain_on_request(context)
    assert [r.tags["agrorisk/reason"] for r in first.run_requests] == reasons[:2]
    assert all(r.tags["agrorisk/trigger"] == "request" for r in first.run_requests)
    assert isinstance(
        retrain_on_request(dg.build_sensor_context(resources={"flow": flow}, cursor=first.cursor)),
        dg.SkipReason,
    )

    response = backend.post("/v1/admin/retrain", json={"reason": reasons[2]}, headers=ADMIN)
    later = retrain_on_request(dg.build_sensor_context(resources={"flow": flow}, cursor=first.cursor))
    (run,) = later.run_requests
    assert run.tags["agrorisk/request_id"] == response.json()["id"]


def test_negative_feedback_reaches_the_feedback_sensor_and_active_learning(backend, tmp_path):
    flow = flow_for(backend, tmp_path)
    risk = load_catalog()[0].id
    for seed in range(2):
        response = backend.post(
            "/v1/feedback",
            files={"file": ("leaf.jpg", leaf_jpeg(seed), "image/jpeg")},
            data={"verdict": "wrong", "source": "local", "correct_risk_id": risk},
        )
        assert response.status_code == 201, response.text

    request = retrain_on_feedback(dg.build_sensor_context(resources={"flow": flow}))
    assert isinstance(request, dg.RunRequest) and request.tags["agrorisk/new_signals"] == "2"

    settings = flow.settings()
    items = select_for_review([], read_feedback(settings.feedback_dir), settings.prediction_log_dir,
                              settings.feedback_dir)  # fmt: skip
    assert len(items) == 2
    for item in items:
        assert item.reason == "user feedback: wrong (local)" and item.weak_risk_id == risk
        with open(item.image_path, "rb") as photo:
            assert photo.read() in {leaf_jpeg(0), leaf_jpeg(1)}
