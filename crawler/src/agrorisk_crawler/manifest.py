"""The manifest: one CSV row per kept image (the contract dataset-labeling reads and appends to)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from agrorisk_common.manifest import MANIFEST_COLUMNS

COLUMNS = MANIFEST_COLUMNS
_INT_COLUMNS = ("width", "height", "bytes")


class ManifestError(ValueError):
    """The manifest file cannot be read or lacks contract columns."""


def load_manifest(path: Path) -> list[dict]:
    """Rows of the manifest as dicts (an absent file is an empty manifest)."""
    if not path.exists():
        return []
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ManifestError(f"{path}: manifest lacks column(s) {', '.join(missing)}")
    rows = frame[list(COLUMNS)].to_dict("records")
    for row in rows:
        try:
            for column in _INT_COLUMNS:
                row[column] = int(row[column])
        except ValueError:
            raise ManifestError(f"{path}: {column} of {row['file']} is not a number") from None
        row["synthetic"] = row["synthetic"].strip().lower() in ("true", "1")
    return rows


def save_manifest(rows: list[dict], path: Path) -> None:
    """Write all rows atomically (a crash mid-write leaves the previous manifest intact)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    tmp = path.with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)
