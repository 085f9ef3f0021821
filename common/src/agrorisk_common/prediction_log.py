"""The prediction log: one JSON line per prediction, in `*.jsonl` files (one per UTC day).

The backend writes it for every answer; batch inference writes it too; drift detection and active
learning read it.

A line carries the image features (`agrorisk_common.features.image_features`) and the output
features (`prediction_features`) the drift report compares, and the detections that active learning
turns into pre-annotations.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agrorisk_common.detection import Prediction
from agrorisk_common.features import prediction_features

log = logging.getLogger(__name__)

# `source` of the local model's answers (agrorisk_train, Ray Serve, Triton); anything else is Gemini.
LOCAL_SOURCES = ("yolo", "local", "ray", "triton")


class LogFormatError(ValueError):
    """A prediction-log line that is not a record of the contract format."""


def log_record(
    prediction: Prediction,
    features: dict[str, float],
    *,
    image_sha256: str,
    request_id: str = "",
    image_path: str | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """One log line (as a dict) in the contract format."""
    return {
        "time": (time or datetime.now(UTC)).isoformat(),
        "request_id": request_id,
        "source": prediction.source,
        "model_version": prediction.model_version,
        "image_sha256": image_sha256,
        "features": features,
        "outputs": prediction_features(prediction),
        "detections": [d.model_dump(mode="json") for d in prediction.detections],
        "image_path": image_path,
    }


def append_records(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Append records to one JSONL file (created with its folder); returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    with path.open("a", encoding="utf-8") as out:
        out.writelines(lines)
    return len(lines)


def parse_record(line: str) -> dict[str, Any]:
    """A validated record from one line; `outputs` are derived from `detections` when absent."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LogFormatError(f"not JSON: {exc}") from None
    if not isinstance(record, dict) or not isinstance(record.get("features"), dict):
        raise LogFormatError("no `features` object")
    if not isinstance(record.get("outputs"), dict):
        if not isinstance(record.get("detections"), list):
            raise LogFormatError("neither `outputs` nor `detections`")
        prediction = Prediction(source=str(record.get("source", "")), detections=record["detections"])
        record["outputs"] = prediction_features(prediction)
    return record


def log_files(directory: Path) -> list[Path]:
    """The JSONL files of a log folder, oldest first (file names are dates, so names sort by time)."""
    return sorted(Path(directory).glob("*.jsonl")) if Path(directory).is_dir() else []


def read_records(
    paths: Path | Iterable[Path], limit: int | None = None, sources: Collection[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Records of a log folder (none while it does not exist), a `.jsonl` file or several files; with
    `sources`, only answers of those recognisers (e.g. `LOCAL_SOURCES`: drift compares the local model with
    its reference, not Gemini); with `limit`, only the newest `limit` of them.

    Unreadable lines are skipped with one warning per file, so one bad writer cannot stop the monitor.
    """
    if isinstance(paths, Path):
        files = [paths] if paths.suffix == ".jsonl" else log_files(paths)
    else:
        files = list(paths)
    chunks: list[list[dict[str, Any]]] = []
    found = 0
    for path in reversed(files):  # newest file first, so a window stops reading early
        chunk, bad = [], 0
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = parse_record(line)
            except LogFormatError:
                bad += 1
                continue
            if sources is None or record.get("source") in sources:
                chunk.append(record)
        if bad:
            log.warning("%s: skipped %d line(s) that are not prediction records", path, bad)
        chunks.append(chunk)
        found += len(chunk)
        if limit is not None and found >= limit:
            break
    records = [record for chunk in reversed(chunks) for record in chunk]
    yield from (records[-limit:] if limit is not None else records)
