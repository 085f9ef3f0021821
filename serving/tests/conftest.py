"""A tiny trained model in a local-folder registry, and drawn photos to run it on."""

from __future__ import annotations

import pytest

from agrorisk_common.catalog import load_catalog
from agrorisk_devtools.smoke_model import push_smoke_model
from agrorisk_serving.drawn import drawn_jpegs
from agrorisk_storage import StorageSettings


@pytest.fixture(scope="session")
def class_names() -> list[str]:
    return [risk.id for risk in load_catalog()][:2]


@pytest.fixture(scope="session")
def model_registry(tmp_path_factory, class_names) -> StorageSettings:
    """v1 of a one-epoch YOLO11 (real training and ONNX export), promoted to production."""
    root = tmp_path_factory.mktemp("serving-model")
    storage = StorageSettings(local_root=root / "registry", cache_dir=root / "cache")
    push_smoke_model(storage, class_names, creator="tests")
    return storage


@pytest.fixture(scope="session")
def sample_images() -> list[bytes]:
    return drawn_jpegs([(96, 80), (160, 90), (70, 120)], seed=7)
