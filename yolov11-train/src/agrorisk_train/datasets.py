"""Training-side data.yaml helpers: an absolute copy for Ultralytics, a content hash, replay mixing
(reading a data set is `agrorisk_common.yolo_data`)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import yaml

from agrorisk_common.yolo_data import dataset_risk_ids, label_of, read_data_yaml, split_images


def risk_ids(data_yaml: str | Path) -> list[str]:
    """Class names of the dataset, which are risk ids from the catalog."""
    return dataset_risk_ids(data_yaml)


def absolute_data_yaml(data_yaml: str | Path, out_dir: Path) -> Path:
    """The data.yaml itself when its `path` is absolute, else a copy in out_dir that is
    (Ultralytics resolves relative paths against its datasets dir, not the yaml's folder)."""
    data_yaml = Path(data_yaml)
    original = yaml.safe_load(data_yaml.read_text())
    config = read_data_yaml(data_yaml)
    if original.get("path") == config["path"]:
        return data_yaml
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "data.yaml"
    target.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return target


def dataset_hash(data_yaml: str | Path) -> str:
    """sha256 over the class names and every image and label file of every split (order-independent)."""
    config = read_data_yaml(data_yaml)
    digest = hashlib.sha256(yaml.safe_dump(dataset_risk_ids(data_yaml)).encode())
    files: set[Path] = set()
    for split in ("train", "val", "test"):
        if split in config:
            for image in split_images(data_yaml, split):
                files.add(image)
                files.add(label_of(image))
    for file in sorted(files):
        if file.is_file():
            digest.update(file.name.encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def replay_mix(new_yaml: Path, old_yaml: Path, fraction: float, out_dir: Path, seed: int = 0) -> Path:
    """A data.yaml that trains on the new dataset plus `fraction` of the old training images;
    validation and test stay the new dataset's. The old classes must be a prefix of the new ones
    so label indices keep their meaning."""
    new_ids, old_ids = risk_ids(new_yaml), risk_ids(old_yaml)
    if new_ids[: len(old_ids)] != old_ids:
        raise ValueError("replay needs the old dataset's classes to be a prefix of the new dataset's classes")
    old_train = split_images(old_yaml, "train")
    replay = random.Random(seed).sample(old_train, round(len(old_train) * fraction))
    out_dir.mkdir(parents=True, exist_ok=True)
    train_list = out_dir / "train_with_replay.txt"
    train_list.write_text("\n".join(str(p) for p in [*split_images(new_yaml, "train"), *replay]) + "\n")
    config = read_data_yaml(new_yaml)
    config["train"] = str(train_list)
    config["replay"] = {"from": str(old_yaml), "fraction": fraction, "images": len(replay)}
    target = out_dir / "data_with_replay.yaml"
    target.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return target
