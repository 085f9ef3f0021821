"""Storage test fixtures: a local S3 server (moto) for the session and settings for each backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agrorisk_devtools.s3 import moto_s3
from agrorisk_storage import ModelRegistry, StorageSettings

MINIO_ENDPOINT = os.environ.get("AGRORISK_TEST_MINIO_ENDPOINT", "")

# The whole registry suite also runs on real MinIO when an endpoint is given.
BACKENDS = ["local", "s3"] + ([pytest.param("minio", marks=pytest.mark.minio)] if MINIO_ENDPOINT else [])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """`host:port` of moto's S3 server on loopback, shared by the whole session."""
    with moto_s3() as endpoint:
        yield endpoint


def _settings_for(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> StorageSettings:
    """Settings for `backend` with buckets and folders of their own, so tests never see each other."""
    suffix = uuid.uuid4().hex[:10]
    common = {
        "models_bucket": f"models-{suffix}",
        "datasets_bucket": f"datasets-{suffix}",
        "local_root": tmp_path / "registry",
        "cache_dir": tmp_path / "cache",
        "_env_file": None,
    }
    if backend == "local":
        return StorageSettings(endpoint="", **common)
    if backend == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        return StorageSettings(endpoint=endpoint, access_key="test", secret_key="test-secret", **common)
    return StorageSettings(
        endpoint=MINIO_ENDPOINT,
        access_key=os.environ.get("AGRORISK_TEST_MINIO_ACCESS_KEY", "minioadmin"),
        secret_key=os.environ.get("AGRORISK_TEST_MINIO_SECRET_KEY", "minioadmin"),
        **common,
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> StorageSettings:
    return _settings_for(backend, tmp_path, request)


@pytest.fixture
def s3_settings(tmp_path: Path, request: pytest.FixtureRequest) -> StorageSettings:
    """Settings for moto's S3 server, whatever backend the test is parametrized with."""
    return _settings_for("s3", tmp_path, request)


@pytest.fixture
def minio_settings(tmp_path: Path, request: pytest.FixtureRequest) -> StorageSettings:
    """Settings for the real MinIO at AGRORISK_TEST_MINIO_ENDPOINT; skips the test without one."""
    if not MINIO_ENDPOINT:
        pytest.skip("set AGRORISK_TEST_MINIO_ENDPOINT to run on MinIO")
    return _settings_for("minio", tmp_path, request)


@pytest.fixture
def models(settings: StorageSettings) -> ModelRegistry:
    return ModelRegistry.from_settings(settings)


@pytest.fixture
def make_model(tmp_path: Path):
    """Writes a small fake model version (weights, export, metrics) and returns {name: path}."""

    def make(tag: str) -> dict[str, Path]:
        folder = tmp_path / "src" / tag
        folder.mkdir(parents=True)
        (folder / "best.pt").write_bytes(f"weights {tag} ".encode() * 500)
        (folder / "best.onnx").write_bytes(f"onnx {tag} ".encode() * 300)
        (folder / "metrics.json").write_text(f'{{"mAP50": 0.{len(tag)}}}')
        return {p.name: p for p in folder.iterdir()}

    return make
