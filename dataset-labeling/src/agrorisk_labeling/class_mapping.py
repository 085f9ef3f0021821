"""Class mapping CSVs (`source_class,risk_id`): a data set's class names onto catalog risk ids."""

from __future__ import annotations

import csv
from pathlib import Path

from agrorisk_common.catalog import Catalog, is_healthy_class
from agrorisk_labeling.errors import LabelingError


def read_mapping(path: Path | None, catalog: Catalog | None) -> dict[str, str]:
    """Mapping CSV `source_class,risk_id`; with a catalog every target must be one of its risk ids or
    `healthy:<crop>` (without one, targets may be ids the catalog does not have yet)."""
    if path is None:
        return {}
    if not path.is_file():
        raise LabelingError(f"mapping file not found: {path}")
    mapping = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or {"source_class", "risk_id"} - set(reader.fieldnames):
            raise LabelingError(f"{path}: the mapping CSV needs columns source_class,risk_id")
        for row in reader:
            source, risk_id = (row["source_class"] or "").strip(), (row["risk_id"] or "").strip()
            if catalog is not None and risk_id not in catalog and not is_healthy_class(risk_id):
                raise LabelingError(f"{path}:{reader.line_num}: {risk_id!r} is not a catalog risk id")
            mapping[source] = risk_id
    return mapping
