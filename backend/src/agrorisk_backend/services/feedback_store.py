"""User feedback on results, kept with the photo: the labelling queue that improves the model.

Layout (read by the Dagster active-learning asset and its feedback sensor):
  <dir>/YYYY-MM-DD/<feedback_id>.json   the feedback record (`FeedbackRecord`)
  <dir>/YYYY-MM-DD/<feedback_id>.<ext>  the photo it is about
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

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


class FeedbackStore:
    def __init__(self, directory: Path):
        self.directory = directory

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
        await asyncio.to_thread(self._write, record, image)
        return record

    def _write(self, record: FeedbackRecord, image: bytes) -> None:
        image_path = self.directory / record.image_file
        image_path.parent.mkdir(parents=True, exist_ok=True)
        image_path.write_bytes(image)
        # The record goes last: a reader that sees it can rely on the photo being there.
        image_path.with_suffix(".json").write_text(record.model_dump_json(indent=1), encoding="utf-8")
