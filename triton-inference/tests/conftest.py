"""A tiny trained model in a local-folder registry, and PyTriton's Triton on loopback serving it.

One PyTriton server per machine at a time: every Triton test shares this one session server.
"""

from __future__ import annotations

import pytest

from agrorisk_common.catalog import load_catalog
from agrorisk_common.ports import free_port
from agrorisk_devtools.serving_checks import SMOKE_SERVER_SETTINGS
from agrorisk_devtools.smoke_model import push_smoke_model
from agrorisk_serving.drawn import drawn_jpegs
from agrorisk_storage import ModelRegistry, StorageSettings


@pytest.fixture(scope="session")
def triton_model_registry(tmp_path_factory):
    """v1 of a one-epoch YOLO11 (real training and ONNX export), promoted to production, its files and
    class names."""
    root = tmp_path_factory.mktemp("triton-model")
    class_names = [risk.id for risk in load_catalog()][:2]
    storage = StorageSettings(local_root=root / "registry", cache_dir=root / "cache")
    version = push_smoke_model(storage, class_names, creator="tests")
    files = {f.name: f for f in ModelRegistry.from_settings(storage).pull(version).iterdir()}
    return storage, files, class_names


@pytest.fixture(scope="session")
def triton_images() -> list[bytes]:
    return drawn_jpegs([(96, 80), (150, 100), (64, 128)], seed=11)


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
        instances=1,
        **SMOKE_SERVER_SETTINGS,
    )
    server = DetectorServer(settings, storage)
    server.start()
    yield settings, server
    server.stop()
