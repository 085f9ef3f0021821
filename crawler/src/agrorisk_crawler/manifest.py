"""The manifest: one CSV row per kept image (the contract dataset-labeling reads and appends to)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from agrorisk_common.manifest import MANIFEST_COLUMNS, ManifestError, read_manifest_rows

COLUMNS = MANIFEST_COLUMNS
_INT_COLUMNS = ("width", "height", "bytes")


def load_manifest(path: Path) -> list[dict]:
    """Rows of the manifest as dicts (an absent file is an empty manifest), sizes as numbers."""
    if not path.exists():
        return []
    rows = read_manifest_rows(path)
    for row in rows:
        try:
            for column in _INT_COLUMNS:
                row[column] = int(row[column])
        except ValueError:
            raise ManifestError(f"{path}: {column} of {row['file']} is not a number") from None
    return rows


def save_manifest(rows: list[dict], path: Path) -> None:
    """Write all rows atomically (a crash mid-write leaves the previous manifest intact)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=pd.Index(COLUMNS))
    tmp = path.with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)
