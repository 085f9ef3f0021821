"""The prediction log (CONTRACTS.md) the Dagster drift and active-learning assets read: one record per
recogniser answer, in a local folder (one replica) or in a bucket every replica shares.

Folder layout (`FolderPredictionLog`, read by `agrorisk_common.prediction_log.read_records`):
  <dir>/YYYY-MM-DD.jsonl        one line per answer: time, request_id, source, model_version,
                                image_sha256, features (`image_features`), outputs
                                (`prediction_features`), detections, image_path
  <dir>/images/<sha256>.<ext>   the photo, when image logging is on (`image_path` is relative to <dir>)

Bucket layout (`ObjectPredictionLog`): one object per record, so two writers never touch one object:
  prediction-log/YYYY-MM-DD/<HHMMSSffffff>Z-<request_id>-<n>-<source>.json   one record; names sort
                                                 by time, then by answer (`n`) within one request
  prediction-log/images/<sha256>.<ext>          the photo (`image_path` is relative to `prediction-log/`)

Failed answers (a recogniser down, Gemini unconfigured) are not logged: with no detections they
would read as photos with nothing on them and skew the output drift. Metrics count them. A log that
cannot be written (disk full, S3 down) is reported in the server log; the answer still goes out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agrorisk_common.detection import Prediction
from agrorisk_common.prediction_log import LogFormatError, log_record, parse_record, read_records
from agrorisk_storage import ObjectStore, RegistryError

log = logging.getLogger(__name__)

OBJECT_PREFIX = "prediction-log"
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/bmp": "bmp"}


class PredictionLog(ABC):
    """Where the answers about each photo are recorded; `record` never fails a request."""

    def __init__(self, log_images: bool, location: str):
        self.log_images = log_images
        self.location = location  # where the log lives, for people (no secrets)

    async def record(
        self,
        *,
        request_id: str,
        image: bytes,
        mime_type: str,
        features: dict[str, float],
        predictions: list[Prediction],
    ) -> list[dict[str, Any]]:
        """Log the successful answers about one photo (and the photo itself, once); returns the
        records written (none when the log cannot be written)."""
        answered = [p for p in predictions if p.error is None]
        if not answered:
            return []
        now = datetime.now(UTC)
        sha256 = hashlib.sha256(image).hexdigest()
        image_path = f"images/{sha256}.{_EXTENSIONS.get(mime_type, 'img')}" if self.log_images else None
        records = [
            log_record(
                p, features, time=now, request_id=request_id, image_sha256=sha256, image_path=image_path
            )
            for p in answered
        ]
        try:
            await self._save(now, records, image_path, image)
        except (OSError, RegistryError) as exc:
            log.error(
                "prediction log at %s: %d record(s) of %s lost: %s",
                self.location,
                len(records),
                request_id,
                exc,
            )
            return []
        return records

    @abstractmethod
    async def _save(
        self, now: datetime, records: list[dict[str, Any]], image_path: str | None, image: bytes
    ) -> None:
        """Store the photo (when `image_path` is set) first, then the records."""

    @abstractmethod
    def read(self, limit: int | None = None, sources: Collection[str] | None = None) -> list[dict[str, Any]]:
        """The records, oldest first; `sources` and `limit` as in `read_records`."""


class FolderPredictionLog(PredictionLog):
    """Appends records to the day's JSONL file; safe for concurrent requests of one process."""

    def __init__(self, directory: Path, log_images: bool = True):
        super().__init__(log_images, f"folder {directory}")
        self.directory = directory
        self._lock = asyncio.Lock()

    async def _save(
        self, now: datetime, records: list[dict[str, Any]], image_path: str | None, image: bytes
    ) -> None:
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        async with self._lock:
            await asyncio.to_thread(self._write, now, lines, image_path, image)

    def _write(self, now: datetime, lines: str, image_path: str | None, image: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if image_path is not None:
            path = self.directory / image_path
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(image)
        # The line goes last: a reader that sees it can rely on the photo being there.
        with (self.directory / f"{now:%Y-%m-%d}.jsonl").open("a", encoding="utf-8") as log_file:
            log_file.write(lines)

    def read(self, limit: int | None = None, sources: Collection[str] | None = None) -> list[dict[str, Any]]:
        return list(read_records(self.directory, limit=limit, sources=sources))


class ObjectPredictionLog(PredictionLog):
    """One object per record in a bucket that several backend replicas write at once."""

    def __init__(self, bucket: ObjectStore, log_images: bool = True, prefix: str = OBJECT_PREFIX):
        super().__init__(log_images, f"{bucket.location}/{prefix}")
        self.bucket = bucket
        self.prefix = prefix

    async def _save(
        self, now: datetime, records: list[dict[str, Any]], image_path: str | None, image: bytes
    ) -> None:
        await asyncio.to_thread(self._write, now, records, image_path, image)

    def _write(
        self, now: datetime, records: list[dict[str, Any]], image_path: str | None, image: bytes
    ) -> None:
        if image_path is not None:
            self.bucket.create(f"{self.prefix}/{image_path}", image)  # False: another answer stored it
        # The records go last: a reader that sees one can rely on the photo being there.
        for index, record in enumerate(records):
            key = self._key(now, index, record)
            self.bucket.put_bytes(key, json.dumps(record, ensure_ascii=False).encode())

    def read(self, limit: int | None = None, sources: Collection[str] | None = None) -> list[dict[str, Any]]:
        keys = [k for k in self.bucket.list_keys(f"{self.prefix}/") if k.endswith(".json")]
        records: list[dict[str, Any]] = []
        for key in reversed(keys):  # newest first, so a window stops reading early
            try:
                record = parse_record(self.bucket.get_bytes(key).decode("utf-8"))
            except (LogFormatError, UnicodeDecodeError):
                log.warning("%s: skipped %s, not a prediction record", self.location, key)
                continue
            if sources is None or record.get("source") in sources:
                records.append(record)
            if limit is not None and len(records) >= limit:
                break
        return records[::-1]

    def _key(self, now: datetime, index: int, record: dict[str, Any]) -> str:
        """The day's folder, then a name that sorts by time and answer and is unique per answer."""
        name = f"{now:%H%M%S%f}Z-{record['request_id']}-{index}-{record['source']}.json"
        return f"{self.prefix}/{now:%Y-%m-%d}/{name}"
