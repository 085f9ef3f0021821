"""The crop-risk catalog: CSV files (one per crop) that name every crop x risk the system knows."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CATALOG_DIR_ENV = "AGRORISK_CATALOG_DIR"
CATALOG_RELATIVE_DIR = Path("crawler") / "risks"
LIST_SEPARATOR = "|"
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class CropNames(NamedTuple):
    """A crop's display names."""

    uk: str
    en: str


CROPS: dict[str, CropNames] = {
    "winter_wheat": CropNames("Пшениця озима", "Winter wheat"),
    "barley": CropNames("Ячмінь", "Barley"),
    "maize": CropNames("Кукурудза", "Maize"),
    "sunflower": CropNames("Соняшник", "Sunflower"),
    "soybean": CropNames("Соя", "Soybean"),
    "winter_rapeseed": CropNames("Ріпак озимий", "Winter rapeseed"),
    "sugar_beet": CropNames("Буряк цукровий", "Sugar beet"),
    "potato": CropNames("Картопля", "Potato"),
    "tomato": CropNames("Томат", "Tomato"),
    "pepper": CropNames("Перець солодкий", "Sweet pepper"),
    "squash": CropNames("Гарбуз", "Squash"),
    "apple": CropNames("Яблуня", "Apple"),
    "grape": CropNames("Виноград", "Grapevine"),
}

# A data-set class `healthy:<crop>` marks a healthy leaf of that crop (PlantDoc's convention): a
# negative example, never a risk. The colon cannot occur in a risk id, so the two never collide.
HEALTHY_PREFIX = "healthy:"
CROP_PATTERN = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


def crop_names(crop: str) -> CropNames:
    """Display names of a crop; a crop outside CROPS (PlantDoc's blueberry, cherry, peach, ...) gets
    its raw name in both languages, so "no risk found on this crop" can be said for any crop."""
    return CROPS.get(crop) or CropNames(crop, crop)


def healthy_class(crop: str) -> str:
    """The class name of a healthy leaf of `crop`: `healthy_class("tomato") == "healthy:tomato"`."""
    if not CROP_PATTERN.match(crop):
        raise ValueError(f"crop {crop!r} is not a lowercase slug (letters, digits, single underscores)")
    return HEALTHY_PREFIX + crop


def is_healthy_class(name: str) -> bool:
    """True for `healthy:<crop>` with a slug crop (known to CROPS or not); False for risk ids."""
    return name.startswith(HEALTHY_PREFIX) and bool(CROP_PATTERN.match(name[len(HEALTHY_PREFIX) :]))


def healthy_crop(name: str) -> str:
    """The crop of a healthy class: `healthy_crop("healthy:peach") == "peach"`; ValueError otherwise."""
    if not is_healthy_class(name):
        raise ValueError(f"{name!r} is not a healthy-leaf class ({HEALTHY_PREFIX}<crop>)")
    return name[len(HEALTHY_PREFIX) :]


class RiskType(StrEnum):
    DISEASE = "disease"
    PEST = "pest"
    WEED = "weed"
    ABIOTIC = "abiotic"


class CatalogError(ValueError):
    """A catalog file is broken: the message names the file, the line and the reason."""

    def __init__(self, path: Path | str, line: int | None, reason: str):
        self.path, self.line, self.reason = Path(path), line, reason
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


class Guidance(BaseModel):
    """What to do about a risk, and where that advice comes from (to be checked by an agronomist)."""

    model_config = ConfigDict(frozen=True)

    control_agrotechnical: str = ""
    control_biological: str = ""
    control_chemical: str = ""
    economic_threshold: str = ""
    bbch: str = ""
    source: str = ""

    @property
    def complete(self) -> bool:
        """True when it says what to do and where that advice comes from."""
        control = self.control_agrotechnical or self.control_biological or self.control_chemical
        return bool(control and self.source)


class Risk(BaseModel):
    """One risk to one crop: a disease, a pest, a weed or abiotic damage. The catalog's guidance
    columns (`Guidance`'s fields) are gathered into `guidance`."""

    model_config = ConfigDict(frozen=True)

    id: str
    crop: str
    risk_type: RiskType
    name_uk: str = Field(min_length=2)
    name_en: str = Field(min_length=2)
    latin_name: str = ""
    plant_part: str = Field(min_length=2)
    symptoms_uk: str = Field(min_length=10)
    queries_uk: tuple[str, ...] = ()
    queries_en: tuple[str, ...] = ()
    guidance: Guidance = Guidance()
    look_alikes: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _gather_guidance(cls, value: object) -> object:
        if isinstance(value, dict) and "guidance" not in value:
            columns = {k: value[k] for k in Guidance.model_fields if k in value}
            return {k: v for k, v in value.items() if k not in columns} | {"guidance": columns}
        return value

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(f"id {value!r} is not a lowercase slug (letters, digits, single dashes)")
        return value

    @field_validator("crop")
    @classmethod
    def _known_crop(cls, value: str) -> str:
        if value not in CROPS:
            raise ValueError(f"unknown crop {value!r}; known: {', '.join(CROPS)}")
        return value

    @field_validator("queries_uk", "queries_en", "look_alikes", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(LIST_SEPARATOR) if part.strip())
        return value

    @property
    def queries(self) -> tuple[str, ...]:
        """Search queries in Ukrainian, English and Latin (the Latin name itself), without repeats."""
        latin = (self.latin_name,) if self.latin_name else ()
        return tuple(dict.fromkeys((*self.queries_uk, *self.queries_en, *latin)))

    @property
    def has_guidance(self) -> bool:
        return self.guidance.complete

    @property
    def crop_name_uk(self) -> str:
        return CROPS[self.crop].uk

    @property
    def crop_name_en(self) -> str:
        return CROPS[self.crop].en


REQUIRED_COLUMNS = ("id", "crop", "risk_type", "name_uk", "name_en", "plant_part", "symptoms_uk")


@dataclass(frozen=True)
class ClassMap:
    """Class index <-> risk id for one dataset or model (index = position in `risk_ids`)."""

    risk_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.risk_ids)) != len(self.risk_ids):
            raise ValueError("class map has a repeated risk id")

    @cached_property
    def _index(self) -> dict[str, int]:
        return {risk_id: i for i, risk_id in enumerate(self.risk_ids)}

    def index_of(self, risk_id: str) -> int:
        try:
            return self._index[risk_id]
        except KeyError:
            raise KeyError(f"risk {risk_id!r} is not in this class map") from None

    def risk_id(self, index: int) -> str:
        if not 0 <= index < len(self.risk_ids):
            raise IndexError(f"class index {index} is outside 0..{len(self.risk_ids) - 1}")
        return self.risk_ids[index]

    def __len__(self) -> int:
        return len(self.risk_ids)

    def __contains__(self, risk_id: object) -> bool:
        return risk_id in self._index

    @property
    def names(self) -> dict[int, str]:
        """The `names` mapping of an Ultralytics data.yaml."""
        return dict(enumerate(self.risk_ids))


class Catalog(Sequence[Risk]):
    """All risks, in file order (files sorted by name), with lookups by id and crop."""

    def __init__(self, risks: Iterable[Risk]):
        self._risks = tuple(risks)
        self._by_id = {r.id: r for r in self._risks}

    def __getitem__(self, index):  # type: ignore[override]
        return self._risks[index]

    def __len__(self) -> int:
        return len(self._risks)

    def __contains__(self, risk_id: object) -> bool:
        return risk_id in self._by_id

    def get(self, risk_id: str) -> Risk:
        try:
            return self._by_id[risk_id]
        except KeyError:
            raise KeyError(f"unknown risk id {risk_id!r}") from None

    def by_crop(self, crop: str) -> list[Risk]:
        if crop not in CROPS:
            raise KeyError(f"unknown crop {crop!r}; known: {', '.join(CROPS)}")
        return [r for r in self._risks if r.crop == crop]

    @property
    def crops(self) -> list[str]:
        return list(dict.fromkeys(r.crop for r in self._risks))

    def select(
        self,
        ids: Iterable[str] = (),
        crops: Iterable[str] = (),
        risk_types: Iterable[str] = (),
    ) -> list[Risk]:
        """Risks matching every given filter (an empty filter matches all); unknown values raise."""
        ids, crops, risk_types = list(ids), list(crops), [RiskType(t) for t in risk_types]
        for risk_id in ids:
            self.get(risk_id)
        for crop in crops:
            self.by_crop(crop)
        return [
            r
            for r in self._risks
            if (not ids or r.id in ids)
            and (not crops or r.crop in crops)
            and (not risk_types or r.risk_type in risk_types)
        ]

    def class_map(self, risks: Iterable[Risk] | None = None) -> ClassMap:
        """Class map over the given risks (default: the whole catalog), in catalog order."""
        chosen = self._risks if risks is None else tuple(risks)
        return ClassMap(tuple(r.id for r in chosen))


def default_catalog_dir() -> Path:
    """`$AGRORISK_CATALOG_DIR`, else `crawler/risks` in the current folder or the nearest parent
    (or beside this source tree when it is a checkout)."""
    env = os.environ.get(CATALOG_DIR_ENV)
    if env:
        return Path(env)
    for base in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        candidate = base / CATALOG_RELATIVE_DIR
        if candidate.is_dir():
            return candidate
    raise CatalogError(
        CATALOG_RELATIVE_DIR,
        None,
        f"risk catalog not found: set {CATALOG_DIR_ENV} or run inside the AgroRisk checkout",
    )


def _read_file(path: Path) -> list[tuple[Risk, int]]:
    """Rows of one CSV file as (risk, line number)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(path, None, f"cannot read: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CatalogError(path, 1, f"missing column(s): {', '.join(missing)}")
    risks = []
    for row in reader:
        line = reader.line_num
        if None in row or any(v is None for v in row.values()):
            raise CatalogError(path, line, f"row has {len(header)} columns expected, got a different count")
        values = {
            k: v.strip() for k, v in row.items() if k in Risk.model_fields or k in Guidance.model_fields
        }
        empty = [c for c in REQUIRED_COLUMNS if not values.get(c)]
        if empty:
            raise CatalogError(path, line, f"required field(s) empty: {', '.join(empty)}")
        try:
            risks.append((Risk.model_validate(values), line))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            if field == "risk_type":
                reason = f"unknown risk type {values['risk_type']!r}; known: {', '.join(t.value for t in RiskType)}"
            else:
                reason = f"{field}: {err['msg']}"
            raise CatalogError(path, line, reason) from None
    return risks


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate the catalog from a folder of CSV files or one CSV file.

    Raises CatalogError naming file, line and reason for a duplicate id, an unknown risk type,
    a missing required field or a broken row.
    """
    root = Path(path) if path is not None else default_catalog_dir()
    if root.is_dir():
        files = sorted(root.glob("*.csv"))
        if not files:
            raise CatalogError(root, None, "no *.csv files in the catalog folder")
    elif root.is_file():
        files = [root]
    else:
        raise CatalogError(root, None, "no such file or folder")
    seen: dict[str, tuple[Path, int]] = {}
    risks: list[Risk] = []
    for file in files:
        for risk, line in _read_file(file):
            if risk.id in seen:
                first, first_line = seen[risk.id]
                raise CatalogError(file, line, f"duplicate id {risk.id!r} (first at {first}:{first_line})")
            seen[risk.id] = (file, line)
            risks.append(risk)
    return Catalog(risks)
