"""A tiny YOLO11 trained for one epoch on drawn images: a real model for tests, demos and benchmarks
where no trained model (and no pretrained weights download) is available. Real Ultralytics training
on the CPU and an ONNX export: about a minute."""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agrorisk_serving.drawn import draw_sample
from agrorisk_serving.model_source import ONNX_FILE, TORCH_FILE
from agrorisk_storage import ModelRegistry, StorageSettings

METRICS_FILE = "metrics.json"


def _offline_ultralytics(config_dir: Path) -> None:
    """Ultralytics without network: no connectivity probe, no auto-install, a local font."""
    os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false", YOLO_CONFIG_DIR=str(config_dir))
    font = config_dir / "Ultralytics" / "Arial.ttf"
    if not font.exists():
        import matplotlib

        font.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(matplotlib.__file__).parent / "mpl-data/fonts/ttf/DejaVuSans.ttf", font)


def _write_dataset(root: Path, class_names: Sequence[str], per_class: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(per_class * len(class_names)):
            class_index = i % len(class_names)
            image, (cx, cy, w, h) = draw_sample(class_index, rng)
            image.save(root / "images" / split / f"{i}.jpg")
            (root / "labels" / split / f"{i}.txt").write_text(
                f"{class_index} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n"
            )
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(class_names))
    data_yaml = root / "data.yaml"
    data_yaml.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    return data_yaml


def train_smoke_model(
    work_dir: Path, class_names: Sequence[str], imgsz: int = 64, epochs: int = 1, seed: int = 0
) -> dict[str, Path]:
    """Train YOLO11n from its yaml (no pretrained weights) and export ONNX; {"best.pt", "best.onnx",
    "metrics.json"} (the per-epoch rows of Ultralytics' results.csv, as `agrorisk-train fit` writes)."""
    work_dir = Path(work_dir)
    _offline_ultralytics(work_dir / "ultralytics-config")
    from ultralytics import YOLO
    from ultralytics.engine.trainer import BaseTrainer

    data_yaml = _write_dataset(work_dir / "data", class_names, per_class=4, seed=seed)
    model = YOLO("yolo11n.yaml", task="detect")
    model.train(
        data=str(data_yaml),
        epochs=epochs,
        imgsz=imgsz,
        batch=8,
        pretrained=False,
        amp=False,
        plots=False,
        val=False,
        workers=0,
        seed=seed,
        device="cpu",
        project=str(work_dir / "runs"),
        name="smoke",
        exist_ok=True,
        verbose=False,
    )
    trainer = model.trainer
    if not isinstance(trainer, BaseTrainer):  # one dataset trains with one task trainer
        raise RuntimeError(f"Ultralytics trained the smoke model with {type(trainer).__name__}")
    weights = Path(trainer.last)
    onnx_path = Path(YOLO(str(weights)).export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True))
    out = work_dir / "model"
    out.mkdir(exist_ok=True)
    shutil.copy(weights, out / TORCH_FILE)
    shutil.copy(onnx_path, out / ONNX_FILE)
    with (Path(trainer.save_dir) / "results.csv").open() as f:
        per_epoch = [{k.strip(): float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    (out / METRICS_FILE).write_text(json.dumps({"per_epoch": per_epoch}))
    return {TORCH_FILE: out / TORCH_FILE, ONNX_FILE: out / ONNX_FILE, METRICS_FILE: out / METRICS_FILE}


def push_smoke_model(
    storage: StorageSettings,
    class_names: Sequence[str],
    imgsz: int = 64,
    promote: bool = True,
    creator: str = "agrorisk-dev smoke-model",
) -> str:
    """Train a smoke model in a temporary folder and push it to the registry of `storage`; returns the
    new version, promoted to `production` unless `promote` is false."""
    with tempfile.TemporaryDirectory(prefix="agrorisk-smoke-") as work:
        files = train_smoke_model(Path(work), class_names, imgsz=imgsz)
        registry = ModelRegistry.from_settings(storage)
        info = registry.push(files, {"class_names": list(class_names), "imgsz": imgsz, "creator": creator})
        if promote:
            registry.promote(info.version, "production")
    return info.version
