"""The one reader of Ultralytics YOLO data sets (data.yaml, split image lists, label files) that
training, evaluation and the pipeline share."""

from __future__ import annotations

from pathlib import Path

import yaml

from agrorisk_common.catalog import ClassMap
from agrorisk_common.detection import Detection

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def read_data_yaml(data_yaml: str | Path) -> dict:
    """The parsed data.yaml with `path` made absolute (relative to the yaml's folder, as a user
    expects; Ultralytics itself would use its datasets dir); clear errors for a broken file."""
    data_yaml = Path(data_yaml)
    if not data_yaml.is_file():
        raise FileNotFoundError(f"data.yaml not found: {data_yaml}")
    try:
        config = yaml.safe_load(data_yaml.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{data_yaml}: not valid YAML ({exc})") from None
    if not isinstance(config, dict) or "names" not in config or not {"train", "val", "test"} & set(config):
        raise ValueError(f"{data_yaml}: a YOLO data.yaml needs 'names' and a split (train, val, test)")
    root = Path(config.get("path") or ".")
    config["path"] = str(root if root.is_absolute() else (data_yaml.parent / root).resolve())
    return config


def dataset_risk_ids(data_yaml: str | Path) -> list[str]:
    """Class names (= risk ids) of a data.yaml, in class-index order."""
    names = read_data_yaml(data_yaml)["names"]
    if isinstance(names, dict):
        return [names[k] for k in sorted(names, key=int)]
    if isinstance(names, list):
        return list(names)
    raise ValueError(f"{data_yaml}: 'names' is neither a list nor a mapping")


def split_images(data_yaml: str | Path, split: str) -> list[Path]:
    """Image files of one split (a folder, a list file, or a list of either); none when the
    data.yaml has no such split."""
    config = read_data_yaml(data_yaml)
    if not config.get(split):
        return []
    root = Path(config["path"])
    entries = config[split] if isinstance(config[split], list) else [config[split]]
    images: list[Path] = []
    for entry in entries:
        path = Path(entry) if Path(entry).is_absolute() else root / entry
        if path.is_dir():
            images += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.suffix == ".txt" and path.is_file():
            images += [Path(line.strip()) for line in path.read_text().splitlines() if line.strip()]
        else:
            raise FileNotFoundError(f"{data_yaml}: split '{split}' points at missing {path}")
    return images


def label_of(image: Path) -> Path:
    """The YOLO label file of an image (…/images/… → …/labels/….txt), as Ultralytics finds it."""
    parts = list(image.parts)
    index = len(parts) - 1 - parts[::-1].index("images")
    parts[index] = "labels"
    return Path(*parts).with_suffix(".txt")


def load_yolo_ground_truth(data_yaml: str | Path, split: str = "val") -> dict[str, list[Detection]]:
    """Ground truth of one split: {image path: detections}; an image without a label file is a
    negative (no boxes)."""
    if not read_data_yaml(data_yaml).get(split):
        raise ValueError(f"{data_yaml}: no '{split}' split")
    class_map = ClassMap(tuple(dataset_risk_ids(data_yaml)))
    truth: dict[str, list[Detection]] = {}
    for image in split_images(data_yaml, split):
        label = label_of(image)
        lines = label.read_text().splitlines() if label.exists() else []
        truth[str(image)] = [Detection.from_yolo_line(line, class_map) for line in lines if line.strip()]
    return truth


def class_subset(
    src: Path, out: Path, classes: list[str], *, max_images: int | None = None, split: str = "val"
) -> Path:
    """A YOLO folder (`images/`, `labels/`, `classes.txt` as the real sets ship) cut down to
    `classes`: labels re-indexed onto them, other classes' boxes dropped, images with none of them
    left out; written to `out/images/<split>` with a data.yaml. Images are linked, not copied."""
    names = [n.strip() for n in (src / "classes.txt").read_text(encoding="utf-8").splitlines() if n.strip()]
    unknown = sorted(set(classes) - set(names))
    if unknown:
        raise ValueError(f"{src}: no classes {', '.join(unknown)}")
    remap = {names.index(c): i for i, c in enumerate(classes)}
    (out / "images" / split).mkdir(parents=True, exist_ok=True)
    (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    kept = 0
    for image in sorted(p for p in (src / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        label = src / "labels" / f"{image.stem}.txt"
        lines = label.read_text().splitlines() if label.is_file() else []
        picked = [
            " ".join([str(remap[int(parts[0])]), *parts[1:5]])
            for parts in (line.split() for line in lines if line.strip())
            if int(parts[0]) in remap
        ]
        if not picked:
            continue
        target = out / "images" / split / image.name
        if not target.exists():
            target.symlink_to(image.resolve())
        (out / "labels" / split / f"{image.stem}.txt").write_text("\n".join(picked) + "\n")
        kept += 1
        if max_images is not None and kept >= max_images:
            break
    data_yaml = out / "data.yaml"
    config = {"path": str(out.resolve()), "train": f"images/{split}", split: f"images/{split}"}
    data_yaml.write_text(yaml.safe_dump(config | {"names": dict(enumerate(classes))}, sort_keys=False))
    return data_yaml
