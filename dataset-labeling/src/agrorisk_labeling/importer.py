"""Import of an existing labelled dataset into the pool, mapping its class names to catalog risk ids."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from agrorisk_common.catalog import Catalog
from agrorisk_labeling.build import EXTRA_CLASSES_FILE, read_extra_classes
from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.labels import ImageLabels, LabelBox, LabelSource, LabelStore
from agrorisk_labeling.manifest import append_rows, image_row, images_dir_of, labels_path_of
from agrorisk_labeling.readers import read_dataset

Unmapped = Literal["drop", "keep", "fail"]


class ImportSummary(BaseModel):
    images: int = 0
    boxes: int = 0
    new_manifest_rows: int = 0
    unmapped_classes: dict[str, int] = {}
    kept_as_extra: list[str] = []
    skipped: list[str] = []  # "path: reason"


def read_mapping(path: Path | None, catalog: Catalog) -> dict[str, str]:
    """Mapping CSV `source_class,risk_id`; every target must be a catalog risk id."""
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
            if risk_id not in catalog:
                raise LabelingError(f"{path}:{reader.line_num}: {risk_id!r} is not a catalog risk id")
            mapping[source] = risk_id
    return mapping


def extra_class_id(name: str) -> str:
    """A slug for a class kept outside the catalog."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"extra-{slug or 'class'}"


def unmapped_classes(
    fmt: str, src: Path, mapping: dict[str, str], catalog: Catalog, images_root: Path | None
):
    counts: Counter[str] = Counter()
    for raw in read_dataset(fmt, src, images_root):
        counts.update(name for name, *_ in raw.boxes if name not in mapping and name not in catalog)
    return dict(sorted(counts.items()))


def import_dataset(
    fmt: str,
    src: Path,
    manifest: Path,
    catalog: Catalog,
    mapping_path: Path | None = None,
    unmapped: Unmapped = "fail",
    images_root: Path | None = None,
) -> ImportSummary:
    """Copy images into the pool and record their labels as source `import`.

    Class names map through the mapping file, or stay as they are when already a risk id. Unmapped
    classes stop the import (`fail`, listing them) unless the caller says `drop` or `keep` (as extra
    classes `extra-<name>`, declared in extra_classes.txt beside the manifest).
    """
    mapping = read_mapping(mapping_path, catalog)
    missing = unmapped_classes(fmt, src, mapping, catalog, images_root)
    if missing and unmapped == "fail":
        listed = ", ".join(f"{name!r} ({count} boxes)" for name, count in missing.items())
        raise LabelingError(
            f"unmapped classes: {listed}. Map them in the mapping CSV or choose --unmapped drop|keep"
        )
    summary = ImportSummary(unmapped_classes=missing)
    images_dir = images_dir_of(manifest)
    store = LabelStore.load(labels_path_of(manifest))
    rows, extras = [], set()
    for raw in read_dataset(fmt, src, images_root):
        if raw.problem:
            summary.skipped.append(f"{raw.path}: {raw.problem}")
            continue
        boxes = []
        for name, x1, y1, x2, y2 in raw.boxes:
            risk_id = mapping.get(name) or (name if name in catalog else None)
            if risk_id is None and unmapped == "keep":
                risk_id = extra_class_id(name)
                extras.add(risk_id)
            if risk_id is not None:
                boxes.append(
                    LabelBox(
                        risk_id=risk_id,
                        x1=x1,
                        y1=y1,
                        x2=x2,
                        y2=y2,
                        confidence=1.0,
                        source=LabelSource.IMPORT,
                        model_version=fmt,
                    )
                )
        if not boxes:
            summary.skipped.append(f"{raw.path}: no boxes of a mapped class")
            continue
        if not raw.path.is_file():
            summary.skipped.append(f"{raw.path}: image file missing")
            continue
        weak = Counter(b.risk_id for b in boxes).most_common(1)[0][0]
        try:
            row = image_row(
                raw.path.read_bytes(), weak, images_dir, engine=f"import:{fmt}", source_url=str(raw.path)
            )
        except LabelingError as exc:
            summary.skipped.append(f"{raw.path}: {exc}")
            continue
        rows.append(row)
        store.put(ImageLabels(sha256=row["sha256"], file=row["file"], source=LabelSource.IMPORT, boxes=boxes))
        summary.images += 1
        summary.boxes += len(boxes)
    summary.new_manifest_rows = append_rows(manifest, rows)
    store.save()
    if extras:
        declared = sorted(set(read_extra_classes(manifest)) | extras)
        (manifest.parent / EXTRA_CLASSES_FILE).write_text("\n".join(declared) + "\n", encoding="utf-8")
        summary.kept_as_extra = sorted(extras)
    return summary
