"""A tiny trained model in a local-folder registry, and Ray Serve on loopback serving it."""

from __future__ import annotations

from pathlib import Path

import pytest

from agrorisk_common.catalog import load_catalog
from agrorisk_common.ports import free_port
from agrorisk_devtools.serving_checks import SMOKE_SERVER_SETTINGS
from agrorisk_devtools.smoke_model import push_smoke_model
from agrorisk_serving.drawn import drawn_jpegs
from agrorisk_storage import ModelRegistry, StorageSettings


@pytest.fixture(scope="session")
def class_names() -> list[str]:
    return [risk.id for risk in load_catalog()][:2]


@pytest.fixture(scope="session")
def model_registry(tmp_path_factory, class_names) -> tuple[StorageSettings, dict[str, Path]]:
    """v1 of a one-epoch YOLO11 (real training and ONNX export), promoted to production, and its files."""
    root = tmp_path_factory.mktemp("ray-model")
    storage = StorageSettings(local_root=root / "registry", cache_dir=root / "cache")
    version = push_smoke_model(storage, class_names, creator="tests")
    return storage, {f.name: f for f in ModelRegistry.from_settings(storage).pull(version).iterdir()}


@pytest.fixture(scope="session")
def sample_images() -> list[bytes]:
    return drawn_jpegs([(96, 80), (160, 90), (70, 120)], seed=7)


SERVE_OVERRIDES = SMOKE_SERVER_SETTINGS | {"max_ongoing_requests": 16, "num_replicas": 1, "num_cpus": 2}


@pytest.fixture(scope="session")
def ray_serve(model_registry):
    """Ray Serve behind HAProxy on loopback free ports, serving the registry's production model."""
    from agrorisk_ray import server
    from agrorisk_ray.settings import Settings

    storage, _ = model_registry
    ports = {
        name: free_port()
        for name in (
            "port",
            "metrics_port",
            "haproxy_stats_port",
            "haproxy_metrics_port",
            "fallback_proxy_port",
        )
    }
    settings = Settings(host="127.0.0.1", ingress="haproxy", **ports, **SERVE_OVERRIDES)
    url = server.start(settings, storage)
    yield settings, url
    server.stop()
