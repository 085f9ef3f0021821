"""The local-folder backend: `<root>/<bucket>/<key>`, the same layout as the S3 bucket.

Writes go to a temporary file first and appear under their key in one atomic step
(`os.replace`, or `os.link` for create-if-absent), so readers never see a half-written object.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agrorisk_storage.errors import ObjectMissing, RegistryError


class LocalObjectStore:
    """A bucket as a folder. Objects are plain files; keys are their paths relative to the bucket."""

    def __init__(self, root: Path, bucket: str) -> None:
        self.root = Path(root).resolve()
        self.bucket = bucket
        self._bucket_dir = self.root / bucket
        self._tmp_dir = self.root / ".tmp"

    @property
    def location(self) -> str:
        return f"local folder {self._bucket_dir}"

    def create(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        with self._staged(data=data) as tmp:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        return True

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        with self._staged(data=data) as tmp:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        with self._staged(source=Path(path)) as tmp:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(f"{key} is missing from {self.location}") from None

    def download(self, key: str, dest: Path) -> None:
        try:
            shutil.copyfile(self._path(key), dest)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(f"{key} is missing from {self.location}") from None

    def list_keys(self, prefix: str) -> list[str]:
        base = self._bucket_dir / prefix.rstrip("/") if prefix.rstrip("/") else self._bucket_dir
        if not base.is_dir():
            return []
        keys = (p.relative_to(self._bucket_dir).as_posix() for p in base.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix))

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:
            if parent == self._bucket_dir or not parent.is_relative_to(self._bucket_dir):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def _path(self, key: str) -> Path:
        path = self._bucket_dir / key
        if not path.resolve().is_relative_to(self._bucket_dir.resolve()):
            raise RegistryError(f"key {key!r} points outside the bucket folder")
        return path

    @contextmanager
    def _staged(self, *, data: bytes | None = None, source: Path | None = None) -> Iterator[Path]:
        """A temporary file holding the new content, removed afterwards whatever happens."""
        self._bucket_dir.mkdir(parents=True, exist_ok=True)
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp_dir / f"{uuid.uuid4().hex}.part"
        try:
            if source is not None:
                shutil.copyfile(source, tmp)
            else:
                tmp.write_bytes(data or b"")
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)
