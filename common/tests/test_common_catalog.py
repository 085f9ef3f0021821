"""The risk catalog: the real CSVs load, broken ones are refused with file, line and reason."""

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agrorisk_common.catalog import (
    CROPS,
    HEALTHY_PREFIX,
    CatalogError,
    RiskType,
    crop_names,
    healthy_class,
    healthy_crop,
    is_healthy_class,
    load_catalog,
)
from agrorisk_common.catalog_cli import app

REPO = Path(__file__).resolve().parents[2]
REAL_CATALOG = REPO / "crawler" / "risks"
FIELD_CROPS = (
    "winter_wheat",
    "barley",
    "maize",
    "sunflower",
    "soybean",
    "winter_rapeseed",
    "sugar_beet",
    "potato",
)
# The disease classes of PlantDoc (shared/datasets/plantdoc-cc-by-4.0/classes.txt), which are catalog ids.
PLANTDOC_RISKS = (
    "apple-rust", "apple-scab", "grape-black-rot", "maize-common-rust", "maize-gray-leaf-spot",
    "maize-northern-leaf-blight", "pepper-bacterial-spot", "potato-early-blight", "potato-late-blight",
    "squash-powdery-mildew", "tomato-bacterial-spot", "tomato-early-blight", "tomato-late-blight",
    "tomato-leaf-mold", "tomato-mosaic-virus", "tomato-septoria-leaf-spot", "tomato-spider-mite",
    "tomato-yellow-leaf-curl-virus",
)  # fmt: skip


def _copy_catalog(tmp_path: Path) -> Path:
    target = tmp_path / "risks"
    shutil.copytree(REAL_CATALOG, target)
    return target


def _append_row(file: Path, **changes: str) -> int:
    """Append a copy of the file's first data row with `changes`; returns its line number."""
    with file.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    row = {**rows[0], **changes}
    with file.open("a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, fieldnames=list(row)).writerow(row)
    return len(rows) + 2


def test_real_catalog_covers_the_main_crops_of_ukraine():
    catalog = load_catalog()
    assert len(catalog) >= 100
    assert set(catalog.crops) == set(CROPS) and set(FIELD_CROPS) < set(CROPS)
    assert {r.risk_type for r in catalog} == set(RiskType)
    for risk in catalog:
        assert risk.queries_uk and risk.queries_en, risk.id
        assert risk.symptoms_uk and risk.plant_part and risk.guidance.bbch, risk.id
    for crop in FIELD_CROPS:
        assert len(catalog.by_crop(crop)) >= 5, crop


def test_every_plantdoc_disease_class_is_a_catalog_risk():
    catalog = load_catalog()
    missing = [risk_id for risk_id in PLANTDOC_RISKS if risk_id not in catalog]
    assert missing == []
    assert catalog.get("tomato-spider-mite").risk_type == RiskType.PEST
    assert {catalog.get(r).crop for r in PLANTDOC_RISKS} == {
        "apple", "grape", "maize", "pepper", "potato", "squash", "tomato",
    }  # fmt: skip


def test_healthy_classes_name_a_crop_known_or_not():
    assert HEALTHY_PREFIX == "healthy:"
    assert is_healthy_class("healthy:tomato") and is_healthy_class("healthy:blueberry")
    assert healthy_crop("healthy:tomato") == "tomato" and healthy_crop("healthy:peach") == "peach"
    assert healthy_class("winter_wheat") == "healthy:winter_wheat"
    for name in (
        "tomato-late-blight",
        "healthy",
        "healthy:",
        "healthy: tomato",
        "Healthy:tomato",
        "healthy:a-b",
    ):
        assert not is_healthy_class(name), name
    with pytest.raises(ValueError, match="not a healthy-leaf class"):
        healthy_crop("tomato-late-blight")
    with pytest.raises(ValueError, match="not a lowercase slug"):
        healthy_class("Sweet cherry")
    catalog = load_catalog()
    assert not any(is_healthy_class(r.id) for r in catalog)


def test_crop_names_fall_back_to_the_raw_crop_name():
    assert crop_names("tomato") == ("Томат", "Tomato") and crop_names("tomato").uk == "Томат"
    assert crop_names(healthy_crop("healthy:potato")).en == "Potato"
    assert crop_names(healthy_crop("healthy:raspberry")) == ("raspberry", "raspberry")
    for crop, names in CROPS.items():
        assert crop_names(crop) == names and names.uk and names.en, crop
    risk = load_catalog().get("apple-scab")
    assert (risk.crop_name_uk, risk.crop_name_en) == crop_names("apple")


def test_every_risk_has_guidance_and_a_source():
    missing = [r.id for r in load_catalog() if not r.has_guidance]
    assert missing == []


def test_look_alike_ids_point_at_real_risks():
    catalog = load_catalog()
    for risk in catalog:
        for other in risk.look_alikes:
            if "-" in other and " " not in other:
                assert other in catalog, f"{risk.id}: look-alike {other!r} is not a catalog id"


def test_lookups_and_class_map_round_trip():
    catalog = load_catalog()
    risk = catalog[0]
    assert catalog.get(risk.id) is risk
    assert risk.latin_name in risk.queries or not risk.latin_name
    wheat = catalog.by_crop("winter_wheat")
    class_map = catalog.class_map(wheat)
    assert [class_map.risk_id(class_map.index_of(r.id)) for r in wheat] == [r.id for r in wheat]
    assert class_map.names[0] == wheat[0].id
    with pytest.raises(KeyError, match="unknown risk id"):
        catalog.get("no-such-risk")
    with pytest.raises(KeyError, match="unknown crop"):
        catalog.by_crop("banana")


def test_select_filters_by_crop_type_and_id():
    catalog = load_catalog()
    pests = catalog.select(crops=["potato"], risk_types=["pest"])
    assert pests and all(r.crop == "potato" and r.risk_type == RiskType.PEST for r in pests)
    with pytest.raises(ValueError):
        catalog.select(risk_types=["volcano"])


def test_duplicate_id_is_rejected_with_file_and_line(tmp_path):
    folder = _copy_catalog(tmp_path)
    file = folder / "potato.csv"
    first_id = load_catalog(file)[0].id
    line = _append_row(file, name_en="Copy")
    with pytest.raises(CatalogError) as info:
        load_catalog(folder)
    assert info.value.path == file and info.value.line == line
    assert f"duplicate id '{first_id}'" in info.value.reason


def test_unknown_risk_type_is_rejected_with_file_and_line(tmp_path):
    folder = _copy_catalog(tmp_path)
    file = folder / "maize.csv"
    line = _append_row(file, id="maize-meteor-strike", risk_type="meteor")
    with pytest.raises(CatalogError) as info:
        load_catalog(folder)
    assert (info.value.path, info.value.line) == (file, line)
    assert "unknown risk type 'meteor'" in info.value.reason


def test_missing_required_field_and_broken_row(tmp_path):
    file = tmp_path / "one.csv"
    header = "id,crop,risk_type,name_uk,name_en,latin_name,plant_part,symptoms_uk,queries_uk,queries_en\n"
    good = "potato-x,potato,disease,Хвороба,Disease,,листя,Плями на листі бурого кольору,хвороба,disease\n"
    file.write_text(
        header + good + "potato-y,potato,disease,,Disease,,листя,Плями на листі бурого кольору,a,b\n"
    )
    with pytest.raises(CatalogError, match=r"one.csv:3: required field\(s\) empty: name_uk"):
        load_catalog(file)
    file.write_text(header + good + "potato-z,potato,disease\n")
    with pytest.raises(CatalogError, match=r"one.csv:3: row has"):
        load_catalog(file)
    file.write_text(header + good.replace("potato-x", "Potato X"))
    with pytest.raises(CatalogError, match="not a lowercase slug"):
        load_catalog(file)


def test_cli_stats_and_validate(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 0, result.output
    assert "every risk has control measures" in result.output
    folder = _copy_catalog(tmp_path)
    _append_row(folder / "barley.csv", id="barley-bad", risk_type="meteor")
    result = runner.invoke(app, ["validate", "--path", str(folder)])
    assert result.exit_code == 1
    assert "unknown risk type" in result.output and "Traceback" not in result.output
