"""A tiny trained model in a local-folder registry, and drawn photos to run it on."""

from __future__ import annotations

import io

import numpy as np
import pytest

from agrorisk_common.catalog import load_catalog
from agrorisk_devtools.smoke_model import train_smoke_model
from agrorisk_serving.drawn import draw_sample
from agrorisk_storage import ModelRegistry, StorageSettings


@pytest.fixture(scope="session")
def class_names() -> list[str]:
    return [risk.id for risk in load_catalog()][:2]


@pytest.fixture(scope="session")
def model_registry(tmp_path_factory, class_names) -> StorageSettings:
    """v1 of a one-epoch YOLO11 (real training and ONNX export), promoted to production."""
    root = tmp_path_factory.mktemp("serving-model")
    files = train_smoke_model(root / "train", class_names, imgsz=64)
    storage = StorageSettings(local_root=root / "registry", cache_dir=root / "cache")
    registry = ModelRegistry.from_settings(storage)
    registry.push(files, {"class_names": class_names, "imgsz": 64, "creator": "tests"})
    registry.promote("v1", "production")
    return storage


@pytest.fixture(scope="session")
def sample_images() -> list[bytes]:
    rng = np.random.default_rng(7)
    images = []
    for i, size in enumerate([(96, 80), (160, 90), (70, 120)]):
        buffer = io.BytesIO()
        draw_sample(i % 2, rng, size)[0].save(buffer, format="JPEG", quality=90)
        images.append(buffer.getvalue())
    return images
