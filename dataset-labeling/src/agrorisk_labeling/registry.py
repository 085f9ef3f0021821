"""Push and pull built datasets through minio-storage's DatasetRegistry."""

from __future__ import annotations

import json
from pathlib import Path

from agrorisk_labeling.errors import LabelingError


def _registry():
    try:
        from agrorisk_storage import DatasetRegistry, StorageSettings
    except ImportError:
        raise LabelingError(
            "dataset versions need agrorisk-minio-storage (agrorisk_storage) installed"
        ) from None
    return DatasetRegistry.from_settings(StorageSettings())


def _registry_error() -> type[Exception]:
    from agrorisk_storage import RegistryError

    return RegistryError


def push_dataset(dataset_dir: Path, extra_metadata: dict | None = None, *, registry=None):
    """Push a built dataset folder; metadata carries its hash, class names and split counts.

    Same content (same `dataset_hash`) is the same version: pushing it again returns that version.
    `registry` is a `DatasetRegistry`; by default one is opened from the AGRORISK_STORAGE_ settings."""
    report_path = dataset_dir / "dataset.json"
    if not report_path.is_file():
        raise LabelingError(f"{dataset_dir} is not a built dataset (no dataset.json)")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    registry = registry or _registry()
    try:
        versions = registry.list()
    except _registry_error() as exc:
        raise LabelingError(f"cannot list dataset versions: {exc}") from None
    for version in versions:
        if version.metadata.get("dataset_hash") == report["dataset_hash"]:
            return version  # same content is already a version: pushing again adds nothing
    metadata = {
        "dataset_hash": report["dataset_hash"],
        "class_names": report["class_names"],
        "balance": report["balance"],
        "seed": report["seed"],
        **(extra_metadata or {}),
    }
    try:
        return registry.push_dir(dataset_dir, metadata)
    except _registry_error() as exc:
        raise LabelingError(f"cannot push the dataset: {exc}") from None


def pull_dataset(ref: str, dest: Path | None = None) -> Path:
    """Pull a dataset version (e.g. "v3", "production") and return its local folder."""
    registry = _registry()
    try:
        return Path(registry.pull(ref, dest))
    except _registry_error() as exc:
        raise LabelingError(f"cannot pull dataset {ref!r}: {exc}") from None
