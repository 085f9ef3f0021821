"""What only some backends show: killed pushes, S3 bucket setup, races, an unreachable endpoint, MinIO."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from agrorisk_storage import ModelRegistry, RegistryError, S3ObjectStore, StorageSettings

PUSH_UNTIL_KILLED = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from agrorisk_storage import ModelRegistry, StorageSettings

    def wait_to_be_killed(name, size):
        print("uploaded", name, flush=True)
        sys.stdin.readline()

    files = {p.name: p for p in sorted(Path(sys.argv[1]).iterdir())}
    ModelRegistry.from_settings(StorageSettings(_env_file=None)).push(files, progress=wait_to_be_killed)
    print("pushed", flush=True)
    """
)


def _env_for(settings: StorageSettings) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        env[f"AGRORISK_STORAGE_{name.upper()}"] = str(value)
    env["AGRORISK_STORAGE_SECRET_KEY"] = settings.secret_key.get_secret_value()
    return env


@pytest.mark.slow
def test_a_push_killed_half_way_leaves_no_version(
    settings: StorageSettings, models: ModelRegistry, make_model, tmp_path: Path
) -> None:
    files = make_model("a")
    child = subprocess.Popen(
        [sys.executable, "-c", PUSH_UNTIL_KILLED, str(files["best.pt"].parent)],
        env=_env_for(settings),
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith("uploaded")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()

    assert models.list() == []
    with pytest.raises(RegistryError, match="no models version v1"):
        models.show("v1")
    assert models.push(files).version == "v2"


def test_s3_buckets_are_created_with_versioning(s3_endpoint: str, s3_settings: StorageSettings) -> None:
    settings = s3_settings
    registry = ModelRegistry.from_settings(settings)
    assert registry.list() == []
    client = registry.store.client
    assert client.bucket_exists(settings.models_bucket)
    assert client.get_bucket_versioning(settings.models_bucket).status == "Enabled"
    assert registry.location == f"S3 http://{s3_endpoint}/{settings.models_bucket}"


def test_s3_create_withdraws_a_write_that_lost_an_unchecked_race(s3_settings: StorageSettings) -> None:
    store = ModelRegistry.from_settings(s3_settings).store
    assert isinstance(store, S3ObjectStore)
    assert store.create("claims/000001", b"first")
    # A server that checks If-None-Match without a lock lets a second writer through:
    late = store.client.put_object(store.bucket, "claims/000001", io.BytesIO(b"second"), 6)
    assert not store._won_race("claims/000001", late.version_id)
    assert store.get_bytes("claims/000001") == b"first"
    assert not store.create("claims/000001", b"third")


def test_unreachable_endpoint_is_one_clear_error(tmp_path: Path) -> None:
    settings = StorageSettings(
        endpoint="127.0.0.1:9", local_root=tmp_path, cache_dir=tmp_path, _env_file=None
    )
    with pytest.raises(RegistryError, match=r"cannot reach S3 endpoint http://127\.0\.0\.1:9"):
        ModelRegistry.from_settings(settings).list()


def test_endpoint_url_sets_secure() -> None:
    settings = StorageSettings(endpoint="https://minio.example:9000", _env_file=None)
    assert (settings.endpoint, settings.secure) == ("minio.example:9000", True)
    with pytest.raises(ValueError, match="endpoint"):
        StorageSettings(endpoint="ftp://minio/x", _env_file=None)


@pytest.mark.minio
def test_minio_enforces_create_if_absent_atomically(minio_settings: StorageSettings) -> None:
    """Real MinIO checks If-None-Match atomically: of many racing writers exactly one succeeds."""
    store = ModelRegistry.from_settings(minio_settings).store
    assert isinstance(store, S3ObjectStore)
    store.list_keys("")  # creates the bucket
    start = threading.Barrier(8)
    accepted: list[int] = []

    def writer(i: int) -> None:
        start.wait()
        try:
            store.client._put_object(store.bucket, "race", str(i).encode(), headers={"If-None-Match": "*"})
            accepted.append(i)
        except Exception:  # the server's 412 for every loser
            pass

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == 1
    assert store.get_bytes("race") == str(accepted[0]).encode()
