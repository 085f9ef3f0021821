"""Import of an existing labelled dataset into the pool, mapping its class names to catalog risk ids.

Boxes of a `healthy:<crop>` class are dropped: an image with only such boxes is kept as a negative
(labelled, no boxes). Every row records the data set it came from and its licence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from agrorisk_common.catalog import Catalog, is_healthy_class
from agrorisk_labeling.build import EXTRA_CLASSES_FILE, read_extra_classes
from agrorisk_labeling.class_mapping import read_mapping
from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.labels import (
    ImageLabels,
    LabelBox,
    LabelSource,
    LabelStatus,
    LabelStore,
)
from agrorisk_labeling.manifest import append_rows, image_row, images_dir_of, labels_path_of
from agrorisk_labeling.readers import read_dataset

Unmapped = Literal["drop", "keep", "fail"]


class ImportSummary(BaseModel):
    images: int = 0
    boxes: int = 0
    negatives: int = 0  # images with only healthy boxes, kept without boxes
    healthy_boxes: int = 0  # boxes of healthy:<crop> classes, dropped
    new_manifest_rows: int = 0
    unmapped_classes: dict[str, int] = {}
    kept_as_extra: list[str] = []
    skipped: list[str] = []  # "path: reason"


def extra_class_id(name: str) -> str:
    """A slug for a class kept outside the catalog."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"extra-{slug or 'class'}"


def unmapped_classes(
    fmt: str, src: Path, mapping: Mapping[str, str], catalog: Catalog, images_root: Path | None
):
    """Classes (as mapped) that are neither catalog risks nor healthy, with their box counts."""
    counts: Counter[str] = Counter()
    for raw in read_dataset(fmt, src, images_root):
        targets = (mapping.get(name) or name for name, *_ in raw.boxes)
        counts.update(t for t in targets if t not in catalog and not is_healthy_class(t))
    return dict(sorted(counts.items()))


def _source_url(path: Path, src: Path, prefix: str | None) -> str:
    if prefix is None:
        return str(path)
    base = src if src.is_dir() else src.parent
    return prefix + (path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name)


def import_dataset(
    fmt: str,
    src: Path,
    manifest: Path,
    catalog: Catalog,
    mapping_path: Path | None = None,
    unmapped: Unmapped = "fail",
    images_root: Path | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    dataset: str = "",
    license: str = "",
    source_prefix: str | None = None,
) -> ImportSummary:
    """Copy images into the pool and record their labels as source `import`.

    Class names map through the mapping file (or the `mapping` given), or stay as they are when already
    a risk id. Unmapped classes stop the import (`fail`, listing them) unless the caller says `drop` or
    `keep` (as extra classes `extra-<name>`, declared in extra_classes.txt beside the manifest).
    `dataset` and `license` go into every new manifest row; `source_url` is the image's path, or with
    `source_prefix` that prefix + its path inside src (for sources unpacked to a temp folder).
    """
    mapping = dict(mapping or {}) | read_mapping(mapping_path, catalog)
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
        boxes, healthy, dropped = [], Counter(), 0
        for name, x1, y1, x2, y2 in raw.boxes:
            target = mapping.get(name) or name
            if is_healthy_class(target):
                healthy[target] += 1
                continue
            risk_id = target if target in catalog else None
            if risk_id is None and unmapped == "keep":
                risk_id = extra_class_id(target)
                extras.add(risk_id)
            if risk_id is None:
                dropped += 1
            else:
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
        # A negative only when every box was healthy: a dropped unmapped box may be a disease.
        negative = not boxes and bool(healthy) and not dropped
        if not boxes and not negative:
            summary.skipped.append(f"{raw.path}: no boxes of a mapped class")
            continue
        if not raw.path.is_file():
            summary.skipped.append(f"{raw.path}: image file missing")
            continue
        weak = (Counter(b.risk_id for b in boxes) or healthy).most_common(1)[0][0]
        try:
            row = image_row(
                raw.path.read_bytes(),
                weak,
                images_dir,
                engine=f"import:{fmt}",
                source_url=_source_url(raw.path, src, source_prefix),
                dataset=dataset,
                license=license,
            )
        except LabelingError as exc:
            summary.skipped.append(f"{raw.path}: {exc}")
            continue
        rows.append(row)
        status = LabelStatus.NEGATIVE if negative else LabelStatus.BOXED
        store.put(
            ImageLabels(
                sha256=row["sha256"], file=row["file"], source=LabelSource.IMPORT, boxes=boxes, status=status
            )
        )
        summary.images += 1
        summary.boxes += len(boxes)
        summary.negatives += negative
        summary.healthy_boxes += sum(healthy.values())
    summary.new_manifest_rows = append_rows(manifest, rows)
    store.save()
    if extras:
        declared = sorted(set(read_extra_classes(manifest)) | extras)
        (manifest.parent / EXTRA_CLASSES_FILE).write_text("\n".join(declared) + "\n", encoding="utf-8")
        summary.kept_as_extra = sorted(extras)
    return summary
