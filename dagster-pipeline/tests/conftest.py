"""Shared fixtures: offline environment, drawn-leaf log records, and one full in-process flow run."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from PIL import ImageEnhance, ImageFilter

from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_common.features import image_features
from agrorisk_common.prediction_log import log_record
from agrorisk_common.procedural import draw_leaf

RISKS = ["wheat-septoria-leaf-blotch", "wheat-leaf-rust"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def offline_environment():
    env = {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "YOLO_OFFLINE": "1",
        "YOLO_AUTOINSTALL": "false",
        "HF_HUB_OFFLINE": "1",
        "AGRORISK_CATALOG_DIR": str(REPO / "crawler" / "risks"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def make_leaf_records(
    n: int, seed: int, *, dark: bool = False, class_weights=(0.5, 0.5), folder: Path | None = None
):
    """Log records of drawn leaves with predictions of their lesions. `dark`: darkened and blurred
    photos with less confident predictions; `class_weights`: the mix of predicted risks."""
    rng = random.Random(seed)
    records = []
    for k in range(n):
        index = rng.choices(range(len(RISKS)), weights=class_weights)[0]
        image, boxes = draw_leaf(index, rng, 96)
        low, high = (0.3, 0.6) if dark else (0.6, 0.95)
        if dark:
            image = ImageEnhance.Brightness(image).enhance(0.35).filter(ImageFilter.GaussianBlur(2.5))
        path = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{seed}-{k}.png"
            image.save(path)
        detections = [
            Detection(risk_id=RISKS[index], class_index=index, confidence=rng.uniform(low, high), box=b)
            for b in boxes or [Box.whole_image()]
        ]
        prediction = Prediction(source="yolo", detections=detections, model_version="v1")
        records.append(
            log_record(
                prediction,
                image_features(image),
                image_sha256=f"{seed:08x}{k:056x}",
                image_path=str(path) if path else None,
            )
        )
    return records


@pytest.fixture(scope="session")
def leaf_records():
    """`leaf_records(n, seed, dark=False, class_weights=(0.5, 0.5), folder=None)` -> log records."""
    return make_leaf_records
