"""Readers of labelled datasets people already have: YOLO txt, COCO json, Pascal VOC xml, Label Studio JSON.

Each yields `RawImage`s with boxes as (their class name, normalised xyxy); mapping to risk ids is
the importer's job.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import yaml
from PIL import Image

from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.labels import LabelSource
from agrorisk_labeling.studio import latest_annotation, result_to_boxes

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
FORMATS = ("yolo", "coco", "voc", "labelstudio")


@dataclass
class RawImage:
    path: Path
    boxes: list[tuple[str, float, float, float, float]] = field(default_factory=list)
    problem: str = ""


def _yolo_names(src: Path) -> list[str]:
    for name in ("data.yaml", "dataset.yaml"):
        if (src / name).is_file():
            data = yaml.safe_load((src / name).read_text(encoding="utf-8")) or {}
            names = data.get("names")
            if isinstance(names, dict):
                return [str(names[k]) for k in sorted(names, key=int)]
            if isinstance(names, list):
                return [str(n) for n in names]
            raise LabelingError(f"{src / name} has no `names` list or mapping")
    if (src / "classes.txt").is_file():
        return [
            n.strip() for n in (src / "classes.txt").read_text(encoding="utf-8").splitlines() if n.strip()
        ]
    raise LabelingError(f"{src}: a YOLO dataset needs data.yaml (names) or classes.txt")


def _yolo_label_path(image: Path) -> Path:
    parts = list(image.parts)
    if "images" in parts:
        i = len(parts) - 1 - parts[::-1].index("images")
        parts[i] = "labels"
        return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def read_yolo(src: Path) -> Iterator[RawImage]:
    names = _yolo_names(src)
    for image in sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        label = _yolo_label_path(image)
        raw = RawImage(image)
        if label.is_file():
            for n, line in enumerate(label.read_text(encoding="utf-8").splitlines(), start=1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    if len(parts) not in (5, 6):  # boxes only: polygons are not detection labels
                        raise ValueError
                    index = int(parts[0])
                    cx, cy, w, h = (float(p) for p in parts[1:5])
                except ValueError:
                    raw.problem = f"{label}:{n}: not a YOLO line: {line!r}"
                    break
                name = names[index] if 0 <= index < len(names) else f"#{index}"
                raw.boxes.append((name, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        yield raw


def _find_image(name: str, *folders: Path) -> Path:
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return folders[0] / name


def read_coco(src: Path) -> Iterator[RawImage]:
    files = [src] if src.is_file() else sorted(src.glob("*.json"))
    if not files:
        raise LabelingError(f"{src}: no COCO .json file")
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            categories = {c["id"]: str(c["name"]) for c in data["categories"]}
            images = {i["id"]: i for i in data["images"]}
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise LabelingError(f"{path} is not a COCO detection file: {exc}") from None
        boxes: dict[int, list] = {i: [] for i in images}
        for ann in data.get("annotations", []):
            info = images.get(ann.get("image_id"))
            if info is None or "bbox" not in ann:
                continue
            x, y, w, h = (float(v) for v in ann["bbox"])
            W, H = float(info["width"]), float(info["height"])  # noqa: N806
            name = categories.get(ann.get("category_id"), f"#{ann.get('category_id')}")
            boxes[info["id"]].append((name, x / W, y / H, (x + w) / W, (y + h) / H))
        for image_id, info in images.items():
            image = _find_image(info["file_name"], path.parent, path.parent / "images")
            yield RawImage(image, boxes[image_id])


def read_voc(src: Path) -> Iterator[RawImage]:
    files = sorted(src.rglob("*.xml"))
    if not files:
        raise LabelingError(f"{src}: no Pascal VOC .xml files")
    for xml in files:
        try:
            root = ET.parse(xml).getroot()
            filename = root.findtext("filename") or xml.with_suffix(".jpg").name
        except ET.ParseError as exc:
            yield RawImage(xml, problem=f"{xml}: broken XML: {exc}")
            continue
        image = _find_image(filename, xml.parent, src / "JPEGImages", xml.parent.parent / "JPEGImages")
        width = float(root.findtext("size/width") or 0)
        height = float(root.findtext("size/height") or 0)
        if (not width or not height) and image.is_file():
            with Image.open(image) as img:
                width, height = img.size
        raw = RawImage(image)
        for obj in root.iter("object"):
            bb = obj.find("bndbox")
            corners = [] if bb is None else [bb.findtext(k, "") for k in ("xmin", "ymin", "xmax", "ymax")]
            try:  # no bndbox, a missing corner or a non-number: ValueError
                x1, y1, x2, y2 = map(float, corners)
            except ValueError:
                raw.problem = f"{xml}: an object without a numeric bndbox"
                break
            raw.boxes.append(
                (obj.findtext("name", "").strip(), x1 / width, y1 / height, x2 / width, y2 / height)
            )
        yield raw


def _studio_image_path(url: str, images_root: Path) -> Path:
    parsed = urlparse(url)
    local = parse_qs(parsed.query).get("d")
    if local:
        return images_root / unquote(local[0])
    return images_root / Path(unquote(parsed.path)).name


def read_labelstudio(src: Path, images_root: Path | None) -> Iterator[RawImage]:
    try:
        tasks = json.loads(src.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LabelingError(f"{src} is not a Label Studio JSON export: {exc}") from None
    if not isinstance(tasks, list):
        raise LabelingError(f"{src} is not a Label Studio JSON export (expected a list of tasks)")
    root = images_root or src.parent
    for task in tasks:
        data = task.get("data") or {}
        url = next((v for v in data.values() if isinstance(v, str) and ("/" in v or "." in v)), "")
        annotation = latest_annotation(task)
        boxes = result_to_boxes(annotation.get("result", []), LabelSource.IMPORT) if annotation else []
        yield RawImage(_studio_image_path(url, root), [(b.risk_id, *b.coords) for b in boxes])


def read_dataset(fmt: str, src: Path, images_root: Path | None = None) -> Iterator[RawImage]:
    if not src.exists():
        raise LabelingError(f"import source not found: {src}")
    if fmt == "yolo":
        return read_yolo(src)
    if fmt == "coco":
        return read_coco(src)
    if fmt == "voc":
        return read_voc(src)
    if fmt == "labelstudio":
        return read_labelstudio(src, images_root)
    raise LabelingError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
