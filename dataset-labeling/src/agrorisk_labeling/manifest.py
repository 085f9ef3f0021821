"""The pool manifest (crawler contract): one row per image, shared by crawl, import and SD top-up."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, cast

import imagehash
import pandas as pd
from PIL import Image, UnidentifiedImageError

from agrorisk_common.manifest import MANIFEST_COLUMNS, ManifestError, read_manifest_rows
from agrorisk_labeling.errors import LabelingError

COLUMNS = MANIFEST_COLUMNS


class ManifestRow(Protocol):
    """One row of `read_manifest` as `manifest_rows` yields it (the columns the labeller reads)."""

    risk_id: str
    file: str
    sha256: str
    phash: str
    width: str
    height: str
    synthetic: bool
    near_duplicate_of: str


def manifest_rows(frame: pd.DataFrame) -> Iterable[ManifestRow]:
    """The frame's rows as named tuples, one attribute per column."""
    return cast(Iterable[ManifestRow], frame.itertuples(index=False))


def images_dir_of(manifest: Path) -> Path:
    """Images sit in the `images/` folder beside the manifest (crawler layout)."""
    return manifest.parent / "images"


def labels_path_of(manifest: Path) -> Path:
    """The labels manifest sits beside the pool manifest."""
    return manifest.parent / "labels.jsonl"


def read_manifest(path: Path) -> pd.DataFrame:
    """Read a manifest; missing optional columns get defaults. Raises LabelingError when unusable."""
    if not path.is_file():
        raise LabelingError(f"manifest not found: {path}")
    try:
        rows = read_manifest_rows(path)
    except ManifestError as exc:
        raise LabelingError(str(exc)) from None
    if not rows:
        return empty_manifest()
    return pd.DataFrame(rows, columns=pd.Index(COLUMNS))


def empty_manifest() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=str) for c in COLUMNS})
    frame["synthetic"] = frame["synthetic"].astype(bool)
    return frame


def append_rows(path: Path, rows: list[dict]) -> int:
    """Append rows to the manifest (created when missing), skipping sha256+risk pairs already there.

    Returns how many rows were added. Written via a temp file so a crash never truncates it.
    """
    frame = read_manifest(path) if path.exists() else empty_manifest()
    known = set(zip(frame["sha256"], frame["risk_id"], strict=True))
    fresh = []
    for row in rows:
        key = (row["sha256"], row["risk_id"])
        if key not in known:
            known.add(key)
            fresh.append({c: row.get(c, "") for c in COLUMNS})
    if fresh:
        frame = pd.concat([frame, pd.DataFrame(fresh)], ignore_index=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".csv.tmp")
        frame.to_csv(tmp, index=False)
        tmp.replace(path)
    return len(fresh)


def image_row(data: bytes, risk_id: str, images_dir: Path, **fields: object) -> dict:
    """Store image bytes as `<risk_id>/<sha256>.<ext>` under images_dir; return its manifest row.

    A `healthy:<crop>` class is stored in the folder `healthy-<crop>` (no colon in paths or URLs)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            fmt = (img.format or "PNG").lower()
            width, height = img.size
            phash = str(imagehash.phash(img.convert("RGB")))
    except (UnidentifiedImageError, OSError) as exc:
        raise LabelingError(f"not a readable image: {exc}") from None
    ext = {"jpeg": "jpg"}.get(fmt, fmt)
    sha = hashlib.sha256(data).hexdigest()
    rel = f"{risk_id.replace(':', '-')}/{sha}.{ext}"
    target = images_dir / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return {
        "risk_id": risk_id,
        "file": rel,
        "sha256": sha,
        "phash": phash,
        "width": width,
        "height": height,
        "bytes": len(data),
        "crawled_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "synthetic": False,
        "near_duplicate_of": "",
        "cross_risk_duplicate_of": "",
        **fields,
    }
