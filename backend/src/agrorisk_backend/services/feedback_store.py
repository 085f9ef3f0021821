"""User feedback on results, kept with the photo: the labelling queue that improves the model.

Layout (read by the Dagster active-learning asset and its feedback sensor), in a local folder
(`FolderFeedbackStore`) or under `feedback/` in a bucket every replica shares (`ObjectFeedbackStore`):
  <dir>/YYYY-MM-DD/<feedback_id>.json   the feedback record (`FeedbackRecord`)
  <dir>/YYYY-MM-DD/<feedback_id>.<ext>  the photo it is about (`image_file`, relative to <dir>)

Each feedback has objects of its own, so replicas writing at once never touch the same one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agrorisk_backend.errors import ApiError
from agrorisk_storage import ObjectStore, RegistryError

log = logging.getLogger(__name__)

OBJECT_PREFIX = "feedback"
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/bmp": "bmp"}


class FeedbackIn(BaseModel):
    """What a person says about one result."""

    verdict: Literal["right", "wrong"]
    source: Literal["local", "gemini", "both"] = "both"
    risk_id: str | None = Field(default=None, description="the risk the verdict is about")
    correct_risk_id: str | None = Field(default=None, description="the risk really on the photo")
    request_id: str | None = None
    comment: str = Field(default="", max_length=2000)


class FeedbackRecord(FeedbackIn):
    id: str
    created_at: str
    image_file: str
    image_sha256: str


class FeedbackStore(ABC):
    """Feedback records with their photos; a store that cannot be written answers 503."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the feedback lives, for people (no secrets)."""

    async def save(self, feedback: FeedbackIn, image: bytes, mime_type: str) -> FeedbackRecord:
        now = datetime.now(UTC)
        feedback_id = uuid.uuid4().hex
        day = f"{now:%Y-%m-%d}"
        record = FeedbackRecord(
            **feedback.model_dump(),
            id=feedback_id,
            created_at=now.isoformat(),
            image_file=f"{day}/{feedback_id}.{_EXTENSIONS.get(mime_type, 'img')}",
            image_sha256=hashlib.sha256(image).hexdigest(),
        )
        try:
            await asyncio.to_thread(self._write, record, image)
        except (OSError, RegistryError) as exc:
            log.error("feedback store at %s: feedback %s not saved: %s", self.location, feedback_id, exc)
            raise ApiError(
                503, "unavailable", "the feedback store does not answer; try again later"
            ) from None
        return record

    def records(self) -> list[FeedbackRecord]:
        """Every feedback record, oldest first."""
        return sorted(self._read(), key=lambda r: r.created_at)

    @abstractmethod
    def _write(self, record: FeedbackRecord, image: bytes) -> None:
        """Store the photo, then the record: a reader that sees the record can rely on the photo."""

    @abstractmethod
    def _read(self) -> list[FeedbackRecord]: ...


class FolderFeedbackStore(FeedbackStore):
    def __init__(self, directory: Path):
        self.directory = directory

    @property
    def location(self) -> str:
        return f"folder {self.directory}"

    def _write(self, record: FeedbackRecord, image: bytes) -> None:
        image_path = self.directory / record.image_file
        image_path.parent.mkdir(parents=True, exist_ok=True)
        image_path.write_bytes(image)
        image_path.with_suffix(".json").write_text(record.model_dump_json(indent=1), encoding="utf-8")

    def _read(self) -> list[FeedbackRecord]:
        if not self.directory.is_dir():
            return []
        paths = self.directory.glob("*/*.json")
        return [FeedbackRecord.model_validate_json(p.read_text(encoding="utf-8")) for p in paths]


class ObjectFeedbackStore(FeedbackStore):
    """Feedback as objects under `prefix/` in a bucket that several backend replicas write at once."""

    def __init__(self, bucket: ObjectStore, prefix: str = OBJECT_PREFIX):
        self.bucket = bucket
        self.prefix = prefix

    @property
    def location(self) -> str:
        return f"{self.bucket.location}/{self.prefix}"

    def _write(self, record: FeedbackRecord, image: bytes) -> None:
        image_key = f"{self.prefix}/{record.image_file}"
        self.bucket.put_bytes(image_key, image)
        self.bucket.put_bytes(
            image_key.rsplit(".", 1)[0] + ".json", record.model_dump_json(indent=1).encode()
        )

    def _read(self) -> list[FeedbackRecord]:
        keys = [k for k in self.bucket.list_keys(f"{self.prefix}/") if k.endswith(".json")]
        return [FeedbackRecord.model_validate_json(self.bucket.get_bytes(k)) for k in keys]
