"""Batch inference as prediction-log records, made the way the live server makes them: the photo
decoded upright (`decode_image`), its features as the backend computes them, and the serving
library's detector on the serving engine with the serving thresholds."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agrorisk_common.detection import Prediction
from agrorisk_common.features import image_features
from agrorisk_common.images import DecodedImage, ImageRejected, decode_image
from agrorisk_common.prediction_log import log_record
from agrorisk_pipeline.settings import ServingParams
from agrorisk_serving.detector import DetectionParams, Detector, load_detector, predict
from agrorisk_serving.model_source import ModelVersion

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
BATCH = 8  # Ray's max_batch_size default; batching does not change a detection


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files in a folder (sorted); empty when the folder does not exist."""
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.glob("*")
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_serving_detector(model: ModelVersion, params: ServingParams) -> Detector:
    """The serving library's detector for a pulled version, on the CPU with the serving settings."""
    detection = DetectionParams(params.conf_threshold, params.iou_threshold, params.max_detections)
    return load_detector(model, params.engine, detection)


def detector_records(detector: Detector, images: Sequence[Path]) -> list[dict[str, Any]]:
    """Predict every image with a serving detector, in batches; one log record per decodable image
    (an undecodable one is skipped with a warning, as the server answers it with an error)."""
    records = []
    for start in range(0, len(images), BATCH):
        decoded = _decoded(images[start : start + BATCH])
        predictions = predict(detector, [d.image for _, _, d in decoded]) if decoded else []
        records += [
            _record(path, data, d, p) for (path, data, d), p in zip(decoded, predictions, strict=True)
        ]
    return records


def _decoded(paths: Sequence[Path]) -> list[tuple[Path, bytes, DecodedImage]]:
    out = []
    for path in paths:
        data = path.read_bytes()
        try:
            out.append((path, data, decode_image(data)))
        except ImageRejected as exc:
            log.warning("batch inference: %s skipped: %s", path, exc)
    return out


def _record(path: Path, data: bytes, decoded: DecodedImage, prediction: Prediction) -> dict[str, Any]:
    return log_record(
        prediction,
        image_features(decoded.image, size=(decoded.width, decoded.height)),
        image_sha256=hashlib.sha256(data).hexdigest(),
        request_id=f"batch:{path.name}",
        image_path=str(path.resolve()),
    )


def serve_records(url: str, images: Sequence[Path], timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Predict every image through a serving endpoint (`POST {url}/predict`, raw image body)."""
    import httpx

    from agrorisk_common.images import sniff_mime_type

    records = []
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s) as client:
        for path, data, decoded in _decoded(images):
            response = client.post(
                "/predict", content=data, headers={"Content-Type": sniff_mime_type(data) or "image/jpeg"}
            )
            response.raise_for_status()
            records.append(_record(path, data, decoded, Prediction.model_validate(response.json())))
    return records
