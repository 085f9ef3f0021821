"""Which object store a bucket lives in: S3/MinIO when `AGRORISK_STORAGE_ENDPOINT` is set, else a folder."""

from __future__ import annotations

from agrorisk_storage.local_store import LocalObjectStore
from agrorisk_storage.object_store import ObjectStore
from agrorisk_storage.s3_store import S3ObjectStore
from agrorisk_storage.settings import StorageSettings


def open_store(settings: StorageSettings, bucket: str) -> ObjectStore:
    """`bucket` on the S3 endpoint of `settings`, or the folder `<local_root>/<bucket>` without one:
    every service configured with the same `AGRORISK_STORAGE_*` reaches the same objects."""
    if settings.uses_s3:
        return S3ObjectStore.from_settings(settings, bucket)
    return LocalObjectStore(settings.local_root, bucket)
