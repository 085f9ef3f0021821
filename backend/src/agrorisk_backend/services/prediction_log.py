"""The prediction log: one JSON line per prediction (image features + outputs), per UTC day.

Layout (read by the Dagster drift and active-learning assets):
  <dir>/YYYY-MM-DD.jsonl        one record per line (see `PredictionRecord`)
  <dir>/images/<sha256>.<ext>   the photo, when image logging is on
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from agrorisk_common.detection import Prediction

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/bmp": "bmp"}


class PredictionRecord(BaseModel):
    """One logged prediction. `features` come from `image_features`; the rest describes the output."""

    ts: str
    request_id: str
    endpoint: str
    source: str
    model_version: str | None
    error: str | None
    latency_ms: float | None
    cost_usd: float | None
    image_sha256: str
    image_file: str | None
    features: dict[str, float]
    risk_ids: list[str]
    confidences: list[float]
    box_areas: list[float]
    n_boxes: int
    agreement: float | None = None


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
        endpoint: str,
        image: bytes,
        mime_type: str,
        features: dict[str, float],
        predictions: list[Prediction],
        agreement: float | None = None,
    ) -> list[PredictionRecord]:
        now = datetime.now(UTC)
        sha256 = hashlib.sha256(image).hexdigest()
        image_file = f"images/{sha256}.{_EXTENSIONS.get(mime_type, 'img')}" if self.log_images else None
        records = [
            PredictionRecord(
                ts=now.isoformat(),
                request_id=request_id,
                endpoint=endpoint,
                source=p.source,
                model_version=p.model_version,
                error=p.error,
                latency_ms=p.latency_ms,
                cost_usd=p.cost_usd,
                image_sha256=sha256,
                image_file=image_file,
                features=features,
                risk_ids=[d.risk_id for d in p.detections],
                confidences=[d.confidence for d in p.detections],
                box_areas=[round(d.box.area, 6) for d in p.detections],
                n_boxes=len(p.detections),
                agreement=agreement,
            )
            for p in predictions
        ]
        lines = "".join(r.model_dump_json() + "\n" for r in records)
        async with self._lock:
            await asyncio.to_thread(self._write, now, lines, image_file, image)
        return records

    def _write(self, now: datetime, lines: str, image_file: str | None, image: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if image_file is not None:
            path = self.directory / image_file
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(image)
        with (self.directory / f"{now:%Y-%m-%d}.jsonl").open("a", encoding="utf-8") as log_file:
            log_file.write(lines)


def read_prediction_log(directory: Path) -> list[PredictionRecord]:
    """Every record in the log folder, oldest day first (for the drift and active-learning assets)."""
    records = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(PredictionRecord.model_validate(json.loads(line)))
    return records
