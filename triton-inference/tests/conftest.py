"""A tiny trained model in a local-folder registry, and PyTriton's Triton on loopback serving it.

One PyTriton server per machine at a time: every Triton test shares this one session server.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from agrorisk_common.catalog import load_catalog
from agrorisk_common.ports import free_port
from agrorisk_devtools.smoke_model import train_smoke_model
from agrorisk_serving.drawn import draw_sample
from agrorisk_storage import ModelRegistry, StorageSettings


@pytest.fixture(scope="session")
def triton_model_registry(tmp_path_factory):
    """v1 of a one-epoch YOLO11 (real training and ONNX export), promoted to production."""
    root = tmp_path_factory.mktemp("triton-model")
    class_names = [risk.id for risk in load_catalog()][:2]
    files = train_smoke_model(root / "train", class_names, imgsz=64)
    storage = StorageSettings(local_root=root / "registry", cache_dir=root / "cache")
    registry = ModelRegistry.from_settings(storage)
    registry.push(files, {"class_names": class_names, "imgsz": 64, "creator": "tests"})
    registry.promote("v1", "production")
    return storage, files, class_names


@pytest.fixture(scope="session")
def triton_images() -> list[bytes]:
    rng = np.random.default_rng(11)
    images = []
    for i, size in enumerate([(96, 80), (150, 100), (64, 128)]):
        buffer = io.BytesIO()
        draw_sample(i % 2, rng, size)[0].save(buffer, format="JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


@pytest.fixture(scope="session")
def triton_server(triton_model_registry):
    from agrorisk_triton.pytriton_server import DetectorServer
    from agrorisk_triton.settings import Settings

    storage, _, _ = triton_model_registry
    settings = Settings(
        host="127.0.0.1",
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        conf_threshold=0.001,  # a one-epoch model is unsure of everything; still returns real detections
        instances=1,
        max_batch_size=4,
        reload_interval_s=0.5,
        max_image_bytes=300_000,
        max_image_pixels=1_000_000,
    )
    server = DetectorServer(settings, storage)
    server.start()
    yield settings, server
    server.stop()
