"""Real local stand-ins for the backend tests: Ray Serve with a one-epoch YOLO11, the fake Gemini
REST server, and the app built with test settings."""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from agrorisk_backend.main import create_app
from agrorisk_backend.settings import Settings
from agrorisk_backend.testing import shared_ray_serve
from agrorisk_common.catalog import load_catalog
from agrorisk_common.procedural import draw_leaf
from agrorisk_gemini.settings import GeminiSettings
from agrorisk_gemini.testing import FakeGeminiServer
from agrorisk_storage import StorageSettings

GEMINI_KEY = "test-gemini-key"


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def ray_stack(tmp_path_factory, class_names_in_registry) -> tuple[str, StorageSettings]:
    """Ray Serve on loopback serving a real one-epoch YOLO11 from a local registry (v1 = production)."""
    return shared_ray_serve(tmp_path_factory.mktemp("backend-ray"), class_names_in_registry)


@pytest.fixture(scope="session")
def fake_gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(api_key=GEMINI_KEY) as server:
        yield server


@pytest.fixture
def gemini_settings(fake_gemini) -> GeminiSettings:
    fake_gemini.reset()
    return GeminiSettings(api_key=GEMINI_KEY, base_url=fake_gemini.base_url, max_attempts=1, timeout_s=10)


@pytest.fixture
def make_client(tmp_path, ray_stack, gemini_settings) -> Iterator[Callable[..., TestClient]]:
    """Build the app with test settings (overrides as keyword arguments) and open a TestClient."""
    ray_url, storage = ray_stack
    clients: list[TestClient] = []

    def make(
        gemini: GeminiSettings | None = None, storage_settings: StorageSettings | None = None, **overrides
    ):
        settings = Settings(
            **{"engine": "ray", "ray_url": ray_url, "data_dir": tmp_path / "data", **overrides}
        )
        app = create_app(settings, gemini or gemini_settings, storage_settings or storage)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


def _leaf_jpeg(index: int = 0, size: int = 256, seed: int = 0) -> bytes:
    image, _ = draw_leaf(index, random.Random(seed), size=size)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def leaf_jpeg() -> Callable[..., bytes]:
    """Draw a leaf photo (JPEG bytes): leaf_jpeg(index, size, seed)."""
    return _leaf_jpeg


@pytest.fixture(scope="session")
def leaf() -> bytes:
    return _leaf_jpeg()


@pytest.fixture(scope="session")
def class_names_in_registry(catalog) -> list[str]:
    return [r.id for r in catalog][:2]
