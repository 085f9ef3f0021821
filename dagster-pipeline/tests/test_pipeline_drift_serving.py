"""Drift that means something, on real PlantDoc photos and the committed starter model (ONNX export):
the reference made by the serving library's detector with the serving settings, then the same photos
replayed the way Ray serves them (its own settings' engine and thresholds, `decode_and_predict` on the
request bodies, features as the backend computes them) show no drift; night-like blurred photos and
another crop's photos do; a reference made at other thresholds is refused for the output features
instead of raising the alarm its thresholds alone would raise."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageEnhance, ImageFilter

from agrorisk_common.detection import Prediction
from agrorisk_common.features import image_features
from agrorisk_common.images import decode_image
from agrorisk_common.prediction_log import log_record
from agrorisk_pipeline.batch import detector_records, load_serving_detector
from agrorisk_pipeline.drift import (
    ReferenceInfo,
    comparable_records,
    compute_drift,
    output_columns,
    records_frame,
)
from agrorisk_pipeline.settings import ServingParams, Settings
from agrorisk_ray.settings import Settings as RaySettings
from agrorisk_serving.detector import decode_and_predict, load_detector
from agrorisk_serving.model_source import ModelVersion
from agrorisk_train.export import export_onnx
from agrorisk_train.settings import TrainSettings

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PLANTDOC = REPO.parent / "shared" / "datasets" / "plantdoc-cc-by-4.0"
STARTER = REPO / "models" / "starter" / "best.pt"
N = 40


def photos(crops: tuple[str, ...], n: int = N) -> list[Path]:
    """The first `n` photos (by name) whose every box is of one of these crops' classes."""
    names = (PLANTDOC / "classes.txt").read_text().split()
    wanted = {i for i, name in enumerate(names) if name.removeprefix("healthy:").startswith(crops)}
    found = []
    for label in sorted((PLANTDOC / "labels").glob("*.txt")):
        classes = {int(line.split()[0]) for line in label.read_text().splitlines() if line.strip()}
        image = PLANTDOC / "images" / f"{label.stem}.jpg"
        if classes and classes <= wanted and image.is_file():
            found.append(image)
    return found[:n]


@pytest.fixture(scope="module")
def starter(tmp_path_factory) -> ModelVersion:
    """The starter model as a pulled version: best.pt and its ONNX export, its classes and image size."""
    if not PLANTDOC.is_dir():
        pytest.skip(f"PlantDoc photos not found at {PLANTDOC}")
    folder = tmp_path_factory.mktemp("starter")
    shutil.copyfile(STARTER, folder / "best.pt")
    checkpoint = torch.load(folder / "best.pt", map_location="cpu", weights_only=False)
    names = checkpoint["model"].names
    imgsz = int(checkpoint["train_args"]["imgsz"])
    settings = TrainSettings(project_dir=folder / "runs", config_dir=folder / "ultralytics", device="cpu")
    export_onnx(folder / "best.pt", settings, imgsz=imgsz, image=photos(("maize",), 1)[0])
    return ModelVersion("v7", folder, tuple(names[i] for i in sorted(names)), imgsz)


@pytest.fixture(scope="module")
def live(starter):
    """Ray's detector (its settings' engine and thresholds) answering request bodies, logged as the
    backend logs them."""
    ray = RaySettings()
    detector = load_detector(starter, ray.engine, ray.detection_params)

    def answer(bodies: list[bytes]) -> list[dict]:
        predictions = decode_and_predict(detector, bodies, ray.max_image_bytes, ray.max_image_pixels)
        records = []
        for body, prediction in zip(bodies, predictions, strict=True):
            assert isinstance(prediction, Prediction)
            decoded = decode_image(body)
            features = image_features(decoded.image, size=(decoded.width, decoded.height))
            records.append(log_record(prediction, features, image_sha256=hashlib.sha256(body).hexdigest()))
        return records

    return answer


@pytest.fixture(scope="module")
def reference(starter) -> tuple[list[dict], ReferenceInfo]:
    """Set A (maize and potato photos, the starter's crops) predicted by batch inference's detector."""
    params = Settings().serving_params
    records = detector_records(load_serving_detector(starter, params), photos(("maize", "potato")))
    info = ReferenceInfo(
        model_version=starter.version, serving=params, imgsz=starter.imgsz, images=len(records)
    )
    return records, info


def night(path: Path) -> bytes:
    """The photo as at night: darkened, washed-out colours, blurred; as a JPEG upload."""
    with Image.open(path) as image:
        dark = ImageEnhance.Brightness(image.convert("RGB")).enhance(0.25)
        dark = ImageEnhance.Color(dark).enhance(0.4).filter(ImageFilter.GaussianBlur(3))
    buffer = io.BytesIO()
    dark.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def drift_of(reference, live_records, tmp_path, min_rows=30):
    records, info = reference
    current, skipped = comparable_records(info, Settings().serving_params, live_records, min_rows)
    result = compute_drift(
        records_frame(records), records_frame(current), out_dir=tmp_path, outputs_skipped=skipped
    )
    return result, skipped


def test_pipeline_serving_defaults_are_the_servers():
    ray = RaySettings()
    assert Settings().serving_params == ServingParams(
        engine=ray.engine,
        conf_threshold=ray.conf_threshold,
        iou_threshold=ray.iou_threshold,
        max_detections=ray.max_detections,
    )


def test_replaying_the_reference_photos_through_the_live_path_shows_no_drift(reference, live, tmp_path):
    records, _ = reference
    assert (
        len(records) == N and sum(r["outputs"]["n_boxes"] > 0 for r in records) >= N // 2
    )  # a real detector
    replay = live([Path(r["image_path"]).read_bytes() for r in records])
    assert [r["outputs"] for r in replay] == [r["outputs"] for r in records]  # the same answers
    result, skipped = drift_of(reference, replay, tmp_path)
    print(f"replay: drifted share {result.drifted_share}, columns {result.drifted_columns}")
    assert skipped is None and not result.dataset_drift and result.drifted_columns == []
    assert {c.kind for c in result.columns} == {"input", "output"}
    assert (tmp_path / "drift-report.html").stat().st_size > 10_000


def test_night_blurred_photos_drift_on_brightness_saturation_and_sharpness(reference, live, tmp_path):
    records, _ = reference
    result, skipped = drift_of(reference, live([night(Path(r["image_path"])) for r in records]), tmp_path)
    print(f"night: drifted share {result.drifted_share}, columns {result.drifted_columns}")
    assert skipped is None and result.dataset_drift and result.status == "drift"
    assert {"brightness", "contrast", "saturation", "sharpness"} <= set(result.drifted_columns)
    assert {"n_boxes", "max_confidence"} <= set(result.drifted_columns)  # the model sees less at night


def test_another_crops_photos_drift_on_what_the_model_says(reference, live, tmp_path):
    other = live([p.read_bytes() for p in photos(("blueberry", "raspberry", "strawberry"))])
    result, skipped = drift_of(reference, other, tmp_path)
    print(f"other crop: drifted share {result.drifted_share}, columns {result.drifted_columns}")
    # Same-sized web photos of leaves: the crop shows in the answers more than in the pixels.
    assert skipped is None and {"top_risk", "max_confidence", "mean_confidence"} <= set(
        result.drifted_columns
    )
    assert result.dataset_drift


def test_a_reference_at_other_thresholds_is_refused_for_outputs_not_an_alarm(
    starter, reference, live, tmp_path
):
    records, _ = reference
    replay = live([Path(r["image_path"]).read_bytes() for r in records])
    low = ServingParams(engine="ultralytics", conf_threshold=0.05, iou_threshold=0.7, max_detections=300)
    old = detector_records(load_serving_detector(starter, low), [Path(r["image_path"]) for r in records])
    info = ReferenceInfo(model_version=starter.version, serving=low, imgsz=starter.imgsz, images=len(old))

    blind = compute_drift(records_frame(old), records_frame(replay))  # what the old reference raised
    false_alarm = [c.column for c in blind.columns if c.drifted and c.kind == "output"]
    print(f"conf 0.05 reference, outputs compared: share {blind.drifted_share}, drifted {false_alarm}")
    assert "n_boxes" in false_alarm

    result, skipped = drift_of((old, info), replay, tmp_path)
    assert (
        skipped and "ultralytics conf 0.05 IoU 0.7 max 300" in skipped and "onnxruntime conf 0.25" in skipped
    )
    assert not result.dataset_drift and not set(output_columns()) & {c.column for c in result.columns}
    assert "Output features not compared" in result.to_markdown()


def test_live_answers_of_another_model_version_are_not_compared_on_outputs(reference, live):
    records, info = reference
    replay = live([Path(r["image_path"]).read_bytes() for r in records[:35]])
    assert {r["model_version"] for r in replay} == {"v7"}  # Ray's answers carry their model's version
    newer = [{**r, "model_version": "v8"} for r in replay]
    current, skipped = comparable_records(info, Settings().serving_params, newer + replay[:5], 30)
    assert skipped == "the live answers are of model versions {'v8': 35, 'v7': 5}, the reference of v7"
    assert len(current) == 40  # every answer still counts for the input features
    current, skipped = comparable_records(info, Settings().serving_params, newer[:5] + replay, 30)
    assert skipped is None and len(current) == 35  # enough answers of the reference's version: those
