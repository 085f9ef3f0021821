"""Real local stand-ins for the backend tests: Ray Serve with a one-epoch YOLO11, the fake Gemini
REST server, a PostgreSQL server for the jobs database, and the app built with test settings."""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from agrorisk_backend.main import create_app
from agrorisk_backend.services.job_store import JobStore
from agrorisk_backend.settings import Settings
from agrorisk_common.catalog import load_catalog
from agrorisk_common.procedural import draw_leaf
from agrorisk_devtools.backend_stack import shared_ray_serve
from agrorisk_devtools.gemini_standin import FakeGeminiServer
from agrorisk_devtools.postgres import PostgresMissing
from agrorisk_devtools.postgres import postgres_server as postgres
from agrorisk_gemini.settings import GeminiSettings
from agrorisk_storage import StorageSettings

GEMINI_KEY = "test-gemini-key"
PG_PASSWORD = "jobs-db-password"  # never checked (trust auth): an answer or log that repeats it leaks it


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One real PostgreSQL server on a free loopback port for the session; yields its base URL."""
    try:
        with postgres(user="agrorisk") as (host, port):
            yield f"postgresql://agrorisk:{PG_PASSWORD}@{host}:{port}"
    except PostgresMissing as exc:
        pytest.skip(str(exc))


@dataclass(frozen=True)
class JobsDatabase:
    """Where a test's jobs live: the backend settings that point at it, and stores opened on it."""

    kind: str
    where: Path | str  # the data folder's SQLite file, or a PostgreSQL URL
    overrides: dict[str, str] = field(default_factory=dict)
    password: str | None = None  # in the URL: no answer or log may repeat it

    @property
    def env(self) -> dict[str, str]:
        return {f"AGRORISK_BACKEND_{name.upper()}": value for name, value in self.overrides.items()}

    def store(self) -> JobStore:
        return JobStore(self.where)


@pytest.fixture(params=["sqlite", "postgresql"])
def jobs_database(request, tmp_path) -> JobsDatabase:
    """The jobs database of a test's backend (data folder `tmp_path/data`): the default SQLite file,
    or a fresh database of its own on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return JobsDatabase("sqlite", tmp_path / "data" / "jobs.sqlite3")
    server = request.getfixturevalue("postgres_server")
    name = f"jobs_{uuid.uuid4().hex}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}"
    return JobsDatabase("postgresql", url, {"jobs_database_url": url}, PG_PASSWORD)
