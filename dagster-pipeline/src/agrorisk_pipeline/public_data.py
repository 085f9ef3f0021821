"""Real labelled photos for the flow: the first registered public data set (dataset-labeling's registry,
`agrorisk-label datasets`) with boxes of some of the flow's risks that can be had here (its archive URL
or its local copy, e.g. ../shared/datasets), imported into the pool by `agrorisk-label fetch`'s code:
sha256 checked, classes mapped, healthy leaves kept as negatives."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

IMPORTED_FILE = "public-datasets.json"  # in the pool: which data sets (and archives) it already holds


@dataclass(frozen=True)
class RealPhotos:
    dataset: str
    license: str
    risk_ids: list[str]  # the covered risks, sorted: the starter model's class order
    new_images: int  # 0 when the pool already held this data set
    note: str


def find_dataset(risk_ids: list[str], name: str = "", registry_file: Path | None = None):
    """(registry, data set, covered risks) of the first registered data set that covers some of
    `risk_ids` and can be had here (`name` narrows the search to that one), else None."""
    from agrorisk_labeling.public_datasets import PublicDatasets, local_copy, repo_root

    registry, repo = PublicDatasets.load(registry_file), repo_root()
    for dataset in [registry.get(name)] if name else registry:
        targets = set(registry.class_mapping(dataset).values())
        covered = sorted(r for r in risk_ids if r in targets)
        if covered and (dataset.archive.url or local_copy(dataset, repo)):
            return registry, dataset, covered
    return None


def import_real_photos(
    manifest: Path,
    risk_ids: list[str],
    catalog,
    *,
    name: str = "",
    registry_file: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RealPhotos | None:
    """Fetch the data set `find_dataset` picks into the pool of `manifest` (once per archive)."""
    from agrorisk_labeling.fetch import fetch_dataset
    from agrorisk_labeling.public_datasets import repo_root

    found = find_dataset(risk_ids, name, registry_file)
    if found is None:
        return None
    registry, dataset, covered = found
    marker = manifest.parent / IMPORTED_FILE
    held = json.loads(marker.read_text()) if marker.is_file() else {}
    archive = dataset.archive.sha256 or dataset.local or dataset.archive.url
    new_images, note = 0, f"{dataset.name} already in the pool"
    if held.get(dataset.name) != archive or not manifest.is_file():
        summary = fetch_dataset(
            registry, dataset.name, manifest, catalog, repo=repo_root(), on_progress=on_progress
        )
        marker.write_text(json.dumps(held | {dataset.name: archive}, indent=2))
        new_images = summary.imported.new_manifest_rows
        checked = "sha256 checked" if summary.checked else "sha256 NOT registered"
        note = f"{summary.imported.images} photos from {summary.source} ({checked})"
    return RealPhotos(dataset.name, dataset.license, covered, new_images, note)
