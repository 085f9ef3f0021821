"""Dataset quality of a built YOLO dataset: class balance, empty or invalid labels, leakage between splits.

Independent of how the dataset was built, so it also catches what a builder bug would let through.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path

import imagehash
from PIL import Image
from pydantic import BaseModel, Field

from agrorisk_common.yolo_data import dataset_risk_ids, label_of, read_data_yaml, split_images

SPLITS = ("train", "val", "test")


class DatasetQuality(BaseModel):
    class_images: dict[str, int]
    split_images: dict[str, int]
    imbalance_ratio: float
    negatives: list[str] = Field(
        description="photos with an empty label file: no risk on them (healthy leaves)"
    )
    invalid_labels: list[str]
    missing_labels: list[str]
    leaked_images: list[str]

    def problems(self, max_imbalance: float) -> list[str]:
        """Readable reasons the dataset should not be trained on (empty: fine)."""
        problems = []
        absent = [c for c, n in self.class_images.items() if n == 0]
        if absent:
            problems.append(f"classes without images: {', '.join(absent)}")
        if self.imbalance_ratio > max_imbalance:
            problems.append(f"class imbalance {self.imbalance_ratio:.1f}x > {max_imbalance:.1f}x")
        for name, items in (
            ("invalid label lines", self.invalid_labels),
            ("images without labels", self.missing_labels),
            ("images in more than one split", self.leaked_images),
        ):
            if items:
                problems.append(f"{len(items)} {name}, e.g. {items[0]}")
        if not self.split_images.get("train") or not self.split_images.get("val"):
            problems.append(f"train and val need images: {self.split_images}")
        return problems


def _label_problems(text: str, label: Path, n_classes: int) -> tuple[list[int], list[str]]:
    """Class indices of the valid lines and a reason for each invalid one."""
    classes, invalid = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            index, cx, cy, w, h = int(parts[0]), *(float(p) for p in parts[1:5])
            if len(parts) != 5:
                raise ValueError
        except ValueError:
            invalid.append(f"{label.name}:{number}: not a YOLO box line")
            continue
        if not 0 <= index < n_classes:
            invalid.append(f"{label.name}:{number}: class {index} outside 0..{n_classes - 1}")
        elif w <= 0 or h <= 0 or not all(0 <= v <= 1 for v in (cx, cy, w, h)):
            invalid.append(f"{label.name}:{number}: box outside the image or empty")
        else:
            classes.append(index)
    return classes, invalid


def check_dataset(data_yaml: str | Path) -> DatasetQuality:
    """Scan every split of a YOLO dataset (images/<split>, labels/<split>)."""
    data = read_data_yaml(data_yaml)
    names = dataset_risk_ids(data_yaml)
    class_images: Counter[str] = Counter({n: 0 for n in names})
    counts: dict[str, int] = {}
    negatives, invalid, missing = [], [], []
    seen: dict[str, set[str]] = defaultdict(set)  # content hash / pHash -> splits
    for split in SPLITS:
        if split not in data:
            continue
        images = split_images(data_yaml, split)
        counts[split] = len(images)
        for image in images:
            label = label_of(image)
            seen["sha256:" + hashlib.sha256(image.read_bytes()).hexdigest()].add(split)
            with Image.open(image) as img:
                seen["phash:" + str(imagehash.phash(img.convert("RGB")))].add(split)
            if not label.is_file():
                missing.append(f"{split}/{image.name}")
                continue
            classes, problems = _label_problems(label.read_text(encoding="utf-8"), label, len(names))
            invalid += [f"{split}/{p}" for p in problems]
            if not classes and not problems:
                negatives.append(f"{split}/{label.name}")
            class_images.update({names[i] for i in set(classes)})
    sizes = [n for n in class_images.values() if n]
    return DatasetQuality(
        class_images=dict(class_images),
        split_images=counts,
        imbalance_ratio=round(max(sizes) / min(sizes), 2) if sizes else 0.0,
        negatives=negatives,
        invalid_labels=invalid,
        missing_labels=missing,
        leaked_images=sorted(key for key, splits in seen.items() if len(splits) > 1),
    )
