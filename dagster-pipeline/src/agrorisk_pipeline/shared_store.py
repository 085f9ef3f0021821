"""The backends' shared store (`AGRORISK_BACKEND_SHARED_STORE=s3`: one object per prediction record
and per feedback, in a bucket every replica writes) mirrored into the pipeline's local folders, in
the folder layout its readers know: day JSONL files + `images/` for the prediction log, the same
`YYYY-MM-DD/<id>.json` + photo tree for feedback. Each object is fetched once."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger(__name__)

LOG_PREFIX = "prediction-log"  # the backend's ObjectPredictionLog / ObjectFeedbackStore prefixes
FEEDBACK_PREFIX = "feedback"
MIRRORED = ".mirrored-keys"  # in each local folder: the object keys already copied


class Mirrored(NamedTuple):
    records: int
    feedback: int


def mirror_shared_store(bucket, log_dir: Path, feedback_dir: Path) -> Mirrored:
    """Copy the objects not yet copied from `bucket` (an agrorisk_storage object store) into
    `log_dir` and `feedback_dir`; returns how many prediction records and feedback files came."""
    return Mirrored(_mirror_log(bucket, log_dir), _mirror_files(bucket, FEEDBACK_PREFIX, feedback_dir))


def _done(folder: Path) -> set[str]:
    path = folder / MIRRORED
    return set(path.read_text().splitlines()) if path.is_file() else set()


def _mark(folder: Path, keys: list[str]) -> None:
    if keys:
        with (folder / MIRRORED).open("a", encoding="utf-8") as f:
            f.write("".join(f"{key}\n" for key in keys))


def _mirror_log(bucket, log_dir: Path) -> int:
    """Records (`prediction-log/<day>/<name>.json`) appended to `<day>.jsonl`, photos to `images/`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    done, new, records = _done(log_dir), [], 0
    for key in sorted(set(bucket.list_keys(f"{LOG_PREFIX}/")) - done):
        relative = key.removeprefix(f"{LOG_PREFIX}/")
        if relative.startswith("images/"):
            bucket.download(key, log_dir / relative)
        elif relative.endswith(".json") and "/" in relative:
            record = json.loads(bucket.get_bytes(key))
            with (log_dir / f"{relative.split('/', 1)[0]}.jsonl").open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
            records += 1
        new.append(key)
    _mark(log_dir, new)
    if records:
        log.info("mirrored %d prediction records from %s", records, bucket.location)
    return records


def _mirror_files(bucket, prefix: str, folder: Path) -> int:
    """Objects under `prefix/` downloaded to the same relative paths under `folder` (photos first,
    then the records that name them, as the backend writes them)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = _done(folder)
    new = sorted(set(bucket.list_keys(f"{prefix}/")) - done, key=lambda k: (k.endswith(".json"), k))
    for key in new:
        bucket.download(key, folder / key.removeprefix(f"{prefix}/"))
    _mark(folder, new)
    return sum(key.endswith(".json") for key in new)


def mirror_if_shared(settings, storage) -> Mirrored | None:
    """With `shared_store` s3 (pipeline Settings), mirror the bucket on `storage`'s S3 endpoint into
    the prediction-log and feedback folders the readers use; None when the store is local."""
    if settings.shared_store != "s3":
        return None
    from agrorisk_storage import S3ObjectStore

    if not storage.uses_s3:
        raise ValueError("AGRORISK_PIPELINE_SHARED_STORE=s3 needs the S3 endpoint AGRORISK_STORAGE_ENDPOINT")
    bucket = S3ObjectStore.from_settings(storage, settings.shared_bucket)
    return mirror_shared_store(bucket, settings.prediction_log_dir, settings.feedback_dir)
