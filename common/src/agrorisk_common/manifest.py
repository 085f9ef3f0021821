"""The image pool manifest contract: one CSV row per image (the crawler writes it; dataset-labeling
reads it and appends imported and synthetic images), and its one reader. `dataset` and `license` name
the public data set an imported image came from and its licence (SPDX id); empty for crawled and
generated images."""

from __future__ import annotations

import csv
from pathlib import Path

MANIFEST_COLUMNS = (
    "risk_id",
    "file",
    "query",
    "engine",
    "source_url",
    "sha256",
    "phash",
    "width",
    "height",
    "bytes",
    "crawled_at",
    "synthetic",
    "near_duplicate_of",
    "cross_risk_duplicate_of",
    "dataset",
    "license",
)
REQUIRED_COLUMNS = ("risk_id", "file", "sha256")
TRUE_VALUES = ("true", "1", "yes")


def images_dir_of(manifest: Path) -> Path:
    """Where a pool's images are: the `images/` folder beside its manifest (the crawler's layout)."""
    return manifest.parent / "images"


class ManifestError(ValueError):
    """The manifest file cannot be read or lacks a required column."""


def read_manifest_rows(path: Path) -> list[dict]:
    """Every row as a dict of strings, in contract column order: a column the file lacks is empty
    (older manifests), `synthetic` is a bool. Raises ManifestError when the file is unusable."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise ManifestError(f"{path}: manifest lacks column(s) {', '.join(missing)}")
            rows = [{c: (row.get(c) or "") for c in MANIFEST_COLUMNS} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from None
    for row in rows:
        row["synthetic"] = row["synthetic"].strip().lower() in TRUE_VALUES
    return rows
