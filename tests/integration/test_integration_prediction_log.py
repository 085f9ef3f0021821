"""Backend → prediction log → Dagster pipeline: what the backend logs is what the drift monitor and
active learning read.

The real backend app (TestClient) asks Ray Serve serving a one-epoch YOLO11 (`agrorisk_devtools.backend_stack`)
and the fake Gemini REST server about drawn leaves and logs the answers; `agrorisk_common.prediction_log`
reads them, and `agrorisk_pipeline.drift` compares them with a reference that the pipeline's batch
inference predicts through the same Ray Serve, as the `batch_inference` asset does."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import ImageEnhance, ImageFilter

from agrorisk_backend.main import create_app
from agrorisk_backend.settings import Settings
from agrorisk_common.catalog import load_catalog
from agrorisk_common.detection import Prediction
from agrorisk_common.features import prediction_features
from agrorisk_common.prediction_log import LOCAL_SOURCES, log_record, read_records
from agrorisk_common.procedural import draw_leaf
from agrorisk_devtools.backend_stack import shared_ray_serve
from agrorisk_devtools.gemini_standin import FakeGeminiServer, finding
from agrorisk_gemini.settings import GeminiSettings
from agrorisk_pipeline.active_learning import select_for_review
from agrorisk_pipeline.batch import serve_records
from agrorisk_pipeline.drift import compute_drift, records_frame
from agrorisk_storage import StorageSettings

pytestmark = pytest.mark.slow

GEMINI_KEY = "integration-gemini-key"
ROWS = 36  # drift needs 30 rows a side for a verdict (the pipeline's default DRIFT_MIN_ROWS)


@pytest.fixture(scope="module")
def risks() -> list[str]:
    return [r.id for r in load_catalog()][:2]  # the classes of the backend tests' shared Ray Serve model


@pytest.fixture(scope="module")
def ray_stack(tmp_path_factory, risks) -> tuple[str, StorageSettings]:
    return shared_ray_serve(tmp_path_factory.mktemp("integration-ray"), risks)


@pytest.fixture(scope="module")
def ray_url(ray_stack) -> str:
    return ray_stack[0]


@pytest.fixture(scope="module")
def fake_gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(api_key=GEMINI_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def backend(tmp_path_factory, ray_stack, fake_gemini) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("integration-backend")
    # An empty key (as .env.example ships it) means an open API.
    ray_url, storage = ray_stack
    settings = Settings(engine="ray", ray_url=ray_url, data_dir=tmp / "data", api_key="", admin_api_key="")
    gemini = GeminiSettings(api_key=GEMINI_KEY, base_url=fake_gemini.base_url, max_attempts=1, timeout_s=10)
    app = create_app(settings, gemini, storage)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def leaf_pngs(n: int, seed: int, dark: bool = False) -> list[bytes]:
    """Drawn leaves of both classes as PNG bytes; `dark`: darkened and blurred, as on a dull day."""
    rng = random.Random(seed)
    photos = []
    for _ in range(n):
        image, _ = draw_leaf(rng.randrange(2), rng, 96)
        if dark:
            image = ImageEnhance.Brightness(image).enhance(0.35).filter(ImageFilter.GaussianBlur(2.5))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        photos.append(buffer.getvalue())
    return photos


def post(client: TestClient, route: str, photo: bytes) -> dict:
    response = client.post(route, files={"file": ("leaf.png", photo, "image/png")})
    assert response.status_code == 200, response.text
    return response.json()


def log_dir(client: TestClient) -> Path:
    return client.app.state.services.settings.prediction_log_dir


def test_logged_lines_are_the_records_the_pipeline_reads(backend, fake_gemini, risks):
    photo = leaf_pngs(1, seed=99)[0]
    local = post(backend, "/v1/predict", photo)
    top = max(local["detections"], key=lambda d: d["confidence"])["risk_id"]
    other = next(r for r in risks if r != top)
    fake_gemini.set_answer(photo, [finding(other, [0, 0, 500, 500], 0.9)])  # Gemini sees another risk
    compare = post(backend, "/v1/compare", photo)

    records = [r for r in read_records(log_dir(backend)) if r["request_id"] == compare["request_id"]]
    assert sorted(r["source"] for r in records) == ["gemini", "yolo"]
    pipeline_line = log_record(Prediction(source="yolo"), {}, image_sha256="0" * 64)
    for record in records:
        assert record.keys() == pipeline_line.keys()  # the backend writes the pipeline's own format
        prediction = Prediction(source=record["source"], detections=record["detections"])
        assert record["outputs"] == prediction_features(prediction)
        stored = log_dir(backend) / record["image_path"]
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == record["image_sha256"]

    (item,) = [i for i in select_for_review(records, [], log_dir(backend), log_dir(backend))]
    assert item.reason == "gemini and local model disagree"
    assert [d.risk_id for d in item.predictions["gemini"]] == [other]
    assert Path(item.image_path).read_bytes() == photo


def test_drift_report_compares_backend_logged_answers_with_the_batch_reference(backend, ray_url, tmp_path):
    reference_files = []
    for k, photo in enumerate(leaf_pngs(ROWS, seed=1)):
        reference_files.append(tmp_path / f"reference-{k}.png")
        reference_files[-1].write_bytes(photo)
    reference = records_frame(serve_records(ray_url, reference_files))

    for photo in leaf_pngs(ROWS, seed=2):
        post(backend, "/v1/compare", photo)  # logs the model's and Gemini's answers
    like = records_frame(read_records(log_dir(backend), limit=ROWS, sources=LOCAL_SOURCES))
    result = compute_drift(reference, like, out_dir=tmp_path / "like")
    assert result.status == "ok" and not result.dataset_drift, result.to_markdown()
    kinds = {c.column: c.kind for c in result.columns}
    assert {"brightness", "sharpness", "aspect_ratio", "hue_0"} <= {
        c for c, k in kinds.items() if k == "input"
    }
    assert {"top_risk", "n_boxes", "max_confidence", "mean_box_area"} <= {
        c for c, k in kinds.items() if k == "output"
    }

    for photo in leaf_pngs(ROWS, seed=3, dark=True):
        post(backend, "/v1/predict", photo)
    dark = records_frame(read_records(log_dir(backend), limit=ROWS, sources=LOCAL_SOURCES))
    drifted = compute_drift(reference, dark, out_dir=tmp_path / "dark")
    assert drifted.n_current == ROWS and {"brightness", "contrast", "sharpness"} <= set(
        drifted.drifted_columns
    )
    assert not {"brightness", "contrast", "sharpness"} & set(result.drifted_columns)
    assert (tmp_path / "dark" / "drift-report.html").is_file()
