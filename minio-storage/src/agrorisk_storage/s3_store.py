"""The S3/MinIO backend on the `minio` client. The bucket is created on first use, versioning enabled."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import urllib3
from minio import Minio
from minio.commonconfig import ENABLED
from minio.error import MinioException, S3Error
from minio.versioningconfig import VersioningConfig

from agrorisk_storage.errors import ObjectMissing, RegistryError
from agrorisk_storage.settings import StorageSettings

log = logging.getLogger(__name__)

_MISSING_CODES = {"NoSuchKey", "NoSuchObject", "NoSuchVersion"}


def _http_client() -> urllib3.PoolManager:
    """Short connect timeout and few retries, so a MinIO that is down is reported in seconds."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5, read=120),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        maxsize=16,
    )


class S3ObjectStore:
    """A bucket on an S3-protocol server (MinIO in production)."""

    def __init__(self, client: Minio, bucket: str, endpoint_url: str) -> None:
        self.client = client
        self.bucket = bucket
        self._endpoint_url = endpoint_url
        self._ready = False
        self._ready_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: StorageSettings, bucket: str) -> S3ObjectStore:
        client = Minio(
            settings.endpoint,
            access_key=settings.access_key or None,
            secret_key=settings.secret_key.get_secret_value() or None,
            secure=settings.secure,
            region=settings.region or None,
            http_client=_http_client(),
        )
        scheme = "https" if settings.secure else "http"
        return cls(client, bucket, f"{scheme}://{settings.endpoint}")

    @property
    def location(self) -> str:
        return f"S3 {self._endpoint_url}/{self.bucket}"

    def create(self, key: str, data: bytes) -> bool:
        self._ensure_bucket()
        with self._errors(f"create {key}"):
            try:
                # minio's public put_object cannot send If-None-Match; the request helper it wraps can.
                written = self.client._put_object(self.bucket, key, data, headers={"If-None-Match": "*"})
            except S3Error as exc:
                if exc.code == "PreconditionFailed":
                    return False
                raise
            return self._won_race(key, written.version_id)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._ensure_bucket()
        with self._errors(f"write {key}"):
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data))

    def put_file(self, key: str, path: Path) -> None:
        self._ensure_bucket()
        with self._errors(f"upload {key}"):
            self.client.fput_object(self.bucket, key, str(path))

    def get_bytes(self, key: str) -> bytes:
        self._ensure_bucket()
        with self._errors(f"read {key}"):
            response = self.client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def download(self, key: str, dest: Path) -> None:
        self._ensure_bucket()
        with self._errors(f"download {key}"):
            self.client.fget_object(self.bucket, key, str(dest))

    def list_keys(self, prefix: str) -> list[str]:
        self._ensure_bucket()
        with self._errors(f"list {prefix}"):
            objects = self.client.list_objects(self.bucket, prefix, recursive=True)
            return sorted(o.object_name for o in objects if o.object_name is not None)

    def delete(self, key: str) -> None:
        self._ensure_bucket()
        with self._errors(f"delete {key}"):
            self.client.remove_object(self.bucket, key)

    def _won_race(self, key: str, version_id: str | None) -> bool:
        """Whether our create-if-absent really was the first write of `key`.

        MinIO and S3 check If-None-Match atomically. Some S3 stand-ins check it without a lock, so
        two racing writers can both succeed; with versioning the oldest version is the real winner
        and a loser removes its own version, leaving the winner's content current.
        """
        if not version_id or version_id == "null":
            return True
        versions = [
            o.version_id
            for o in self.client.list_objects(self.bucket, key, include_version=True)
            if o.object_name == key
        ]
        if len(versions) <= 1 or versions[-1] == version_id:
            return True
        self.client.remove_object(self.bucket, key, version_id=version_id)
        return False

    def _ensure_bucket(self) -> None:
        if self._ready:
            return
        with self._ready_lock, self._errors(f"prepare bucket {self.bucket}"):
            if self._ready:
                return
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket)
                    log.info("created bucket %s at %s", self.bucket, self._endpoint_url)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
            if self.client.get_bucket_versioning(self.bucket).status != ENABLED:
                self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
            self._ready = True

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Translate client and connection errors into one readable `RegistryError`."""
        try:
            yield
        except S3Error as exc:
            if exc.code in _MISSING_CODES:
                raise ObjectMissing(f"{exc.object_name or action} is missing from {self.location}") from None
            raise RegistryError(f"S3 {action} failed at {self.location}: {exc.code}: {exc.message}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise RegistryError(f"cannot reach S3 endpoint {self._endpoint_url} to {action}: {exc}") from None
        except MinioException as exc:
            raise RegistryError(f"S3 {action} failed at {self.location}: {exc}") from None
