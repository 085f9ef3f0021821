"""Batch inference: a model's predictions on a set of images, as prediction-log records."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from agrorisk_common.detection import Prediction
from agrorisk_common.features import image_features
from agrorisk_common.prediction_log import log_record

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def list_images(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files in a folder (sorted); empty when the folder does not exist."""
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.glob("*")
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _record(path: Path, prediction: Prediction) -> dict[str, Any]:
    with Image.open(path) as img:
        features = image_features(img)
    return log_record(
        prediction,
        features,
        image_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        request_id=f"batch:{path.name}",
        image_path=str(path.resolve()),
    )


def predict_records(
    weights: Path, images: Sequence[Path], train_settings, *, imgsz: int, conf: float, model_version: str
) -> list[dict[str, Any]]:
    """Predict every image with `agrorisk_train` and return one log record per image."""
    from agrorisk_train.evaluation import predict_images

    predictions = predict_images(
        weights, [str(p) for p in images], train_settings, imgsz=imgsz, conf=conf, model_version=model_version
    )
    return [_record(path, predictions[str(path)]) for path in images]


def serve_records(url: str, images: Sequence[Path], timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Predict every image through a serving endpoint (`POST {url}/predict`, raw image body)."""
    import httpx

    from agrorisk_common.images import sniff_mime_type

    records = []
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s) as client:
        for path in images:
            data = path.read_bytes()
            response = client.post(
                "/predict", content=data, headers={"Content-Type": sniff_mime_type(data) or "image/jpeg"}
            )
            response.raise_for_status()
            records.append(_record(path, Prediction.model_validate(response.json())))
    return records
