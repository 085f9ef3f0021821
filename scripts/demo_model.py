"""`make demo`, model stages: train YOLO11 with yolov11-train (W&B offline unless a key is set), export
ONNX, register in the model registry and promote to `production`; or reuse the model an earlier run
trained on the same dataset with the same recipe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EpochProgress = Callable[[int, int, float | None], None]  # (epochs done, epochs, mAP50)


@dataclass(frozen=True)
class Recipe:
    """How the demo trains: the part of a model's metadata that must match for it to be reused."""

    model: str
    epochs: int
    imgsz: int
    batch: int


@dataclass(frozen=True)
class DemoModel:
    version: str
    metrics: dict[str, Any]
    wandb_run: str | None
    reused: bool
    start: str  # where training started: COCO weights, the starter model, random init, …


def train_settings(recipe: Recipe, project_dir: Path):
    """yolov11-train's settings from AGRORISK_TRAIN_* with the demo's sizes on top."""
    from agrorisk_train.settings import TrainSettings

    return TrainSettings(
        model=recipe.model,
        epochs=recipe.epochs,
        imgsz=recipe.imgsz,
        batch=recipe.batch,
        project_dir=project_dir,
    )


def model_registry():
    from agrorisk_storage import ModelRegistry, StorageSettings

    return ModelRegistry.from_settings(StorageSettings())


def reusable_model(registry, data_yaml: Path, recipe: Recipe):
    """The newest registered version trained on exactly this dataset with this recipe, or None."""
    from agrorisk_train.datasets import dataset_hash

    wanted = dataset_hash(data_yaml)
    for info in sorted(registry.list(), key=lambda v: v.number, reverse=True):
        meta = info.metadata
        config = meta.get("train_config") or {}
        if (
            meta.get("dataset_hash") == wanted
            and (meta.get("start_weights") or {}).get("requested") == recipe.model
            and config.get("epochs") == recipe.epochs
            and config.get("imgsz") == recipe.imgsz
            and config.get("batch") == recipe.batch
        ):
            return info
    return None


def train(settings, data_yaml: Path, on_epoch: EpochProgress):
    """One yolov11-train run; `on_epoch` hears each finished epoch with its validation mAP50."""
    from agrorisk_train.training import train as train_yolo

    def epoch_end(trainer) -> None:
        if trainer.epoch >= trainer.epochs:  # Ultralytics' extra call for the final validation
            return
        map50 = trainer.metrics.get("metrics/mAP50(B)")
        on_epoch(trainer.epoch + 1, trainer.epochs, None if map50 is None else float(map50))

    return train_yolo(settings, data_yaml, callbacks={"on_fit_epoch_end": [epoch_end]})


def export(settings, result, data_yaml: Path):
    """best.onnx beside best.pt, checked against PyTorch on a validation image of the dataset."""
    from agrorisk_common.yolo_data import split_images
    from agrorisk_train.export import export_onnx

    images = split_images(data_yaml, "val")
    return export_onnx(result.best_pt, settings, imgsz=result.imgsz, image=images[0] if images else None)


def register_and_promote(registry, result, settings, data_yaml: Path, onnx_path: Path, dataset_version: str):
    """Push best.pt, best.onnx and metrics.json with the contract's metadata; point production at it."""
    from agrorisk_train.registering import register_model

    info = register_model(
        registry, result, settings, data_yaml=data_yaml, onnx_path=onnx_path, dataset_version=dataset_version
    )
    registry.promote(info.version, "production")
    return info


def promote_if_needed(registry, version: str) -> bool:
    """Point production at `version` unless it already is; True when it moved."""
    if registry.aliases().get("production") == version:
        return False
    registry.promote(version, "production")
    return True
