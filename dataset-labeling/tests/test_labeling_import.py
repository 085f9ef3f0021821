"""Import of existing datasets (YOLO, COCO, VOC, Label Studio JSON) through the CLI, then build and train."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner
from ultralytics.data.utils import check_det_dataset

from agrorisk_common.procedural import generate_leaf_dataset
from agrorisk_labeling.build import build_dataset
from agrorisk_labeling.cli import app
from agrorisk_labeling.labels import LabelStore
from agrorisk_labeling.manifest import labels_path_of, read_manifest

runner = CliRunner()
THEIR_NAMES = ["leaf-spot", "rust-pustule"]


@pytest.fixture(scope="module")
def their_yolo(tmp_path_factory) -> Path:
    """A user's YOLO dataset with their own class names."""
    root = tmp_path_factory.mktemp("their-yolo")
    generate_leaf_dataset(root, THEIR_NAMES, images_per_class=6, imgsz=96, seed=5)
    return root


@pytest.fixture
def mapping(tmp_path, risk_ids) -> Path:
    path = tmp_path / "map.csv"
    path.write_text(
        "source_class,risk_id\n" + "".join(f"{n},{r}\n" for n, r in zip(THEIR_NAMES, risk_ids, strict=True))
    )
    return path


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def boxes_by_image(manifest: Path) -> dict[str, list[tuple]]:
    return {
        labels.sha256: sorted((b.risk_id, *(round(v, 4) for v in b.coords)) for b in labels.boxes)
        for labels in LabelStore.load(labels_path_of(manifest))
    }


def yolo_boxes(root: Path) -> list[tuple[Path, str, tuple[float, ...]]]:
    out = []
    for label in sorted(root.glob("labels/*/*.txt")):
        image = root / "images" / label.parent.name / f"{label.stem}.jpg"
        for line in label.read_text().split("\n"):
            if line.strip():
                index, cx, cy, w, h = line.split()
                cx, cy, w, h = map(float, (cx, cy, w, h))
                out.append((image, THEIR_NAMES[int(index)], (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)))
    return out


@pytest.mark.slow
def test_yolo_import_then_build_gives_a_dataset_ultralytics_trains_on(trained, risk_ids):
    data_yaml = trained.dataset / "data.yaml"
    assert yaml.safe_load(data_yaml.read_text())["names"] == dict(enumerate(risk_ids))
    assert check_det_dataset(str(data_yaml))["nc"] == 2
    written = sorted(p.read_text() for p in (trained.dataset / "labels").glob("*/*.txt"))
    source = sorted(p.read_text() for p in trained.their_yolo.glob("labels/*/*.txt"))
    assert written == source  # same boxes, class indices in the mapping's order
    assert trained.weights.is_file()  # Ultralytics trained on it


def test_unmapped_classes_are_listed_and_their_fate_is_explicit(their_yolo, risk_ids, tmp_path):
    manifest = tmp_path / "pool" / "manifest.csv"
    refused = invoke("import", "--format", "yolo", "--src", their_yolo, "--manifest", manifest)
    assert refused.exit_code == 1
    assert "'leaf-spot' (" in refused.output and "'rust-pustule' (" in refused.output
    assert "--unmapped drop|keep" in refused.output and "Traceback" not in refused.output
    assert not manifest.exists()  # nothing half-imported

    partial = tmp_path / "partial.csv"
    partial.write_text(f"source_class,risk_id\nleaf-spot,{risk_ids[0]}\n")

    def import_partial(unmapped: str, into: Path):
        mapped = ("--src", their_yolo, "--mapping", partial)
        return invoke("import", "-f", "yolo", *mapped, "--unmapped", unmapped, "--manifest", into)

    dropped = import_partial("drop", manifest)
    assert dropped.exit_code == 0, dropped.output
    assert "imported 6 image(s)" in dropped.output and "dropped" in dropped.output

    kept_manifest = tmp_path / "kept" / "manifest.csv"
    kept = import_partial("keep", kept_manifest)
    assert kept.exit_code == 0, kept.output
    built = invoke("build", "--manifest", kept_manifest, "--out", tmp_path / "ds")
    assert built.exit_code == 0, built.output
    names = yaml.safe_load((tmp_path / "ds" / "data.yaml").read_text())["names"]
    assert names == {0: risk_ids[0], 1: "extra-rust-pustule"}


def test_mapping_to_a_risk_outside_the_catalog_is_refused(their_yolo, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("source_class,risk_id\nleaf-spot,not-a-risk\n")
    result = invoke(
        "import", "-f", "yolo", "--src", their_yolo, "--mapping", bad, "--manifest", tmp_path / "m.csv"
    )
    assert result.exit_code == 1
    assert "'not-a-risk' is not a catalog risk id" in result.output


def write_coco(boxes, path: Path) -> None:
    images, annotations, ids = [], [], {}
    for image, name, (x1, y1, x2, y2) in boxes:
        if image not in ids:
            ids[image] = len(ids) + 1
            images.append(
                {
                    "id": ids[image],
                    "file_name": f"images/{image.parent.name}/{image.name}",
                    "width": 96,
                    "height": 96,
                }
            )
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": ids[image],
                "category_id": THEIR_NAMES.index(name) + 1,
                "bbox": [x1 * 96, y1 * 96, (x2 - x1) * 96, (y2 - y1) * 96],
            }
        )
    categories = [{"id": i + 1, "name": n} for i, n in enumerate(THEIR_NAMES)]
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))


def write_voc(boxes, folder: Path) -> None:
    by_image: dict[Path, list] = {}
    for image, name, coords in boxes:
        by_image.setdefault(image, []).append((name, coords))
    for image, objects in by_image.items():
        root = ET.Element("annotation")
        ET.SubElement(root, "filename").text = image.name
        size = ET.SubElement(root, "size")
        ET.SubElement(size, "width").text, ET.SubElement(size, "height").text = "96", "96"
        for name, (x1, y1, x2, y2) in objects:
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = name
            bb = ET.SubElement(obj, "bndbox")
            for key, value in zip(("xmin", "ymin", "xmax", "ymax"), (x1, y1, x2, y2), strict=True):
                ET.SubElement(bb, key).text = f"{value * 96:.2f}"
        shutil.copyfile(image, folder / image.name)
        ET.ElementTree(root).write(folder / f"{image.stem}.xml")


def write_labelstudio(boxes, path: Path, root: Path) -> None:
    tasks: dict[Path, dict] = {}
    for image, name, (x1, y1, x2, y2) in boxes:
        task = tasks.setdefault(
            image,
            {
                "data": {"image": f"/data/local-files/?d={image.relative_to(root)}"},
                "annotations": [{"id": 1, "result": [], "was_cancelled": False}],
            },
        )
        task["annotations"][0]["result"].append(
            {
                "type": "rectanglelabels",
                "from_name": "label",
                "to_name": "image",
                "value": {
                    "x": x1 * 100,
                    "y": y1 * 100,
                    "width": (x2 - x1) * 100,
                    "height": (y2 - y1) * 100,
                    "rotation": 0,
                    "rectanglelabels": [name],
                },
            }
        )
    path.write_text(json.dumps(list(tasks.values())))


def test_coco_voc_and_labelstudio_imports_match_the_yolo_import(their_yolo, mapping, tmp_path):
    boxes = yolo_boxes(their_yolo)
    reference = tmp_path / "yolo" / "manifest.csv"
    assert (
        invoke(
            "import", "-f", "yolo", "--src", their_yolo, "--mapping", mapping, "--manifest", reference
        ).exit_code
        == 0
    )
    expected = boxes_by_image(reference)
    assert len(expected) == 12

    write_coco(boxes, their_yolo / "coco.json")
    voc = tmp_path / "voc"
    voc.mkdir()
    write_voc(boxes, voc)
    write_labelstudio(boxes, tmp_path / "export.json", their_yolo)
    sources = {
        "coco": ["--src", their_yolo / "coco.json"],
        "voc": ["--src", voc],
        "labelstudio": ["--src", tmp_path / "export.json", "--images", their_yolo],
    }
    for fmt, args in sources.items():
        manifest = tmp_path / fmt / "manifest.csv"
        result = invoke("import", "-f", fmt, *args, "--mapping", mapping, "--manifest", manifest)
        assert result.exit_code == 0, (fmt, result.output)
        got = boxes_by_image(manifest)
        assert got.keys() == expected.keys(), fmt
        for sha, boxes_ in expected.items():  # pixel formats round coordinates to 1/100 pixel
            assert [b[0] for b in got[sha]] == [b[0] for b in boxes_], fmt
            assert [b[1:] for b in got[sha]] == [pytest.approx(b[1:], abs=1e-3) for b in boxes_], fmt


def test_a_class_mapped_to_healthy_gives_negatives_and_the_source_is_recorded(
    their_yolo, risk_ids, catalog, tmp_path
):
    mapping = tmp_path / "healthy.csv"
    mapping.write_text(f"source_class,risk_id\nleaf-spot,{risk_ids[0]}\nrust-pustule,healthy:wheat\n")
    manifest = tmp_path / "pool" / "manifest.csv"
    result = invoke(
        "import", "-f", "yolo", "--src", their_yolo, "--mapping", mapping, "--manifest", manifest,
        "--dataset", "their-leaves", "--license", "CC0-1.0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "imported 12 image(s)" in result.output and "6 negative(s)" in result.output

    frame = read_manifest(manifest)
    assert set(frame["dataset"]) == {"their-leaves"} and set(frame["license"]) == {"CC0-1.0"}
    healthy = frame[frame["risk_id"] == "healthy:wheat"]
    assert len(healthy) == 6 and all(f.startswith("healthy-wheat/") for f in healthy["file"])
    report = build_dataset(manifest, tmp_path / "ds", catalog, seed=0)
    assert report.class_names == [risk_ids[0]] and sum(report.negatives.values()) == 6
    assert [(s.dataset, s.images, s.license) for s in report.sources] == [("their-leaves", 12, "CC0-1.0")]
