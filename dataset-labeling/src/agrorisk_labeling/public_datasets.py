"""The registry of public labelled data sets: source, licence, citation, the sha256-checked archive, its
layout and the mapping of its classes onto catalog risk ids (data/public_datasets.yaml + data/mappings/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ValidationError, field_validator, model_validator

from agrorisk_common.catalog import Catalog, CatalogError, default_catalog_dir, is_healthy_class
from agrorisk_labeling.class_mapping import read_mapping
from agrorisk_labeling.errors import LabelingError

REGISTRY_FILE = Path(__file__).with_name("data") / "public_datasets.yaml"
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Archive(BaseModel):
    """One archive of the data set. `sha256` is None only with a reason in `sha256_unknown`."""

    url: str = ""  # empty: no public mirror of this exact archive (use --url or --src)
    sha256: str | None
    sha256_unknown: str = ""
    format: Literal["zip", "tar"]
    subdir: str = ""  # the data set's root folder inside the archive

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not SHA256.match(value):
            raise ValueError(f"sha256 {value!r} is not 64 lowercase hex digits")
        return value

    @model_validator(mode="after")
    def _reason_when_unknown(self) -> Self:
        if self.sha256 is None and not self.sha256_unknown:
            raise ValueError("an archive without sha256 needs sha256_unknown (why it is not known)")
        return self


class PublicDataset(BaseModel):
    name: str
    title: str
    license: str  # SPDX id
    license_url: str = ""
    citation: str
    sources: list[str]
    images: int
    boxes: int | None = None
    archive: Archive
    layout: Literal["yolo", "coco", "voc"]
    mapping: str  # CSV path relative to the registry file
    unmapped: Literal["fail", "drop", "keep"] = "fail"
    local: str = ""  # folder relative to the repository root, used offline
    notes: str = ""


class PublicDatasets:
    """The registered data sets of one registry file, by name."""

    def __init__(self, path: Path, items: list[PublicDataset]):
        self.path = path
        self.items = {item.name: item for item in items}

    @classmethod
    def load(cls, path: Path | None = None) -> PublicDatasets:
        path = path or REGISTRY_FILE
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            return cls(path, [PublicDataset.model_validate(item) for item in data])
        except OSError as exc:
            raise LabelingError(f"data set registry {path}: cannot read: {exc}") from None
        except (yaml.YAMLError, ValidationError, TypeError) as exc:
            first = str(exc).splitlines()[0:3]
            raise LabelingError(f"data set registry {path} is invalid: {' '.join(first)}") from None

    def __iter__(self) -> Iterator[PublicDataset]:
        return iter(self.items.values())

    def get(self, name: str) -> PublicDataset:
        if name not in self.items:
            raise LabelingError(f"no registered data set {name!r}; known: {', '.join(self.items) or 'none'}")
        return self.items[name]

    def class_mapping(self, dataset: PublicDataset) -> dict[str, str]:
        """source class -> target (a catalog risk id, a proposed id, or healthy:<crop>)."""
        return read_mapping(self.path.parent / dataset.mapping, None)

    def catalog_gaps(self, dataset: PublicDataset, catalog: Catalog) -> list[str]:
        """Mapped ids the catalog lacks (proposed ids waiting for catalog rows)."""
        targets = self.class_mapping(dataset).values()
        return sorted({t for t in targets if t not in catalog and not is_healthy_class(t)})


def repo_root(catalog_dir: Path | None = None) -> Path:
    """The checkout the catalog lives in (`<root>/crawler/risks`), else the current folder."""
    try:
        return (catalog_dir or default_catalog_dir()).resolve().parents[1]
    except (CatalogError, IndexError):
        return Path.cwd()


def local_copy(dataset: PublicDataset, root: Path) -> Path | None:
    """The registered offline folder when it exists."""
    if not dataset.local:
        return None
    folder = (root / dataset.local).resolve()
    return folder if folder.is_dir() else None
