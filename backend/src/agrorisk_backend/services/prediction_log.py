"""The prediction log (CONTRACTS.md) the Dagster drift and active-learning assets read
(`agrorisk_common.prediction_log.read_records`): one JSON line per recogniser answer, per UTC day.

Layout:
  <dir>/YYYY-MM-DD.jsonl        one line per answer: time, request_id, source, model_version,
                                image_sha256, features (`image_features`), outputs
                                (`prediction_features`), detections, image_path
  <dir>/images/<sha256>.<ext>   the photo, when image logging is on (`image_path` is relative to <dir>)

Failed answers (a recogniser down, Gemini unconfigured) are not logged: with no detections they
would read as photos with nothing on them and skew the output drift. Metrics count them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agrorisk_common.detection import Prediction
from agrorisk_common.prediction_log import log_record

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/bmp": "bmp"}


class PredictionLog:
    """Appends records to the day's JSONL file; safe for concurrent requests of one process."""

    def __init__(self, directory: Path, log_images: bool = True):
        self.directory = directory
        self.log_images = log_images
        self._lock = asyncio.Lock()

    async def record(
        self,
        *,
        request_id: str,
        image: bytes,
        mime_type: str,
        features: dict[str, float],
        predictions: list[Prediction],
    ) -> list[dict[str, Any]]:
        """Log the successful answers about one photo (and the photo itself, once); returns the records."""
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
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        async with self._lock:
            await asyncio.to_thread(self._write, now, lines, image_path, image)
        return records

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
