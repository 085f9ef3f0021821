"""Fine-tuning (дообучення): continue the production model on a new dataset version, compare old
and new on the same frozen test split, and register the new version with that comparison attached."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agrorisk_common.yolo_data import read_data_yaml
from agrorisk_train.datasets import dataset_hash, replay_mix
from agrorisk_train.evaluation import evaluate_model
from agrorisk_train.registering import register_model
from agrorisk_train.settings import TrainSettings
from agrorisk_train.training import Callback, TrainResult, train
from agrorisk_train.weights import REGISTRY_PREFIX

log = logging.getLogger(__name__)


@dataclass
class FinetuneResult:
    train: TrainResult
    comparison: dict[str, Any]
    version: Any | None  # agrorisk_storage.VersionInfo when registered


def finetune(
    settings: TrainSettings,
    data_yaml: str | Path,
    registry,
    *,
    base_ref: str = "production",
    old_data_yaml: str | Path | None = None,
    test_data_yaml: str | Path | None = None,
    test_split: str = "test",
    register: bool = True,
    dataset_version: str | None = None,
    dagster_run_id: str | None = None,
    callbacks: Mapping[str, list[Callback]] | None = None,
    wandb_config: Mapping[str, Any] | None = None,
) -> FinetuneResult:
    """Train from registry version `base_ref` on `data_yaml` (plus `settings.replay_fraction` of
    `old_data_yaml`'s training images, with `settings.freeze` layers frozen), then evaluate the old
    and the new model on `test_split` of `test_data_yaml` (default: the new dataset). The new version
    is registered, never promoted. `callbacks` and `wandb_config` go to `train` as they are."""
    base = registry.show(base_ref)
    test_yaml = Path(test_data_yaml or data_yaml)
    if test_split not in read_data_yaml(test_yaml):
        log.warning("%s has no '%s' split; comparing on 'val' instead", test_yaml, test_split)
        test_split = "val"
    run_name = datetime.now().strftime(f"finetune-{base.version}-%Y%m%d-%H%M%S")
    train_yaml = Path(data_yaml)
    if old_data_yaml and settings.replay_fraction > 0:
        train_yaml = replay_mix(
            train_yaml, Path(old_data_yaml), settings.replay_fraction,
            settings.project_dir.resolve() / "datasets" / run_name, seed=settings.seed,
        )  # fmt: skip
    overrides = {"freeze": settings.freeze} if settings.freeze else {}
    result = train(
        settings,
        train_yaml,
        model=f"{REGISTRY_PREFIX}{base.version}",
        run_name=run_name,
        overrides=overrides,
        wandb_job_type="finetune",
        wandb_config={
            "base_version": base.version,
            "replay_fraction": settings.replay_fraction,
            **(wandb_config or {}),
        },
        callbacks=callbacks,
        registry=registry,
    )
    old_pt = Path(registry.pull(base.version)) / "best.pt"
    imgsz = int(base.metadata.get("imgsz") or result.imgsz)
    reports = {
        "old": evaluate_model(
            old_pt, test_yaml, settings, split=test_split, imgsz=imgsz, model_version=base.version
        ),
        "new": evaluate_model(result.best_pt, test_yaml, settings, split=test_split, imgsz=result.imgsz),
    }
    for name, report in reports.items():
        report.write(result.run_dir / "comparison", stem=f"report-{name}")
    comparison = {
        "base_version": base.version,
        "test_set": str(test_yaml),
        "test_split": test_split,
        "test_set_hash": dataset_hash(test_yaml),
        "n_images": reports["new"].n_images,
        "freeze": settings.freeze,
        "replay_fraction": settings.replay_fraction if old_data_yaml else 0.0,
        **{
            f"{name}_{metric}": getattr(report, metric)
            for name, report in reports.items()
            for metric in ("map50", "map50_95", "precision", "recall", "f1", "image_accuracy")
        },
    }
    comparison["map50_delta"] = comparison["new_map50"] - comparison["old_map50"]
    comparison["new_is_better"] = comparison["map50_delta"] > 0
    log.info(
        "old %s mAP50 %.3f vs new mAP50 %.3f on %s:%s",
        base.version, comparison["old_map50"], comparison["new_map50"], test_yaml, test_split,
    )  # fmt: skip
    version = None
    if register:
        version = register_model(
            registry,
            result,
            settings,
            data_yaml=data_yaml,
            dataset_version=dataset_version,
            comparison=comparison,
            dagster_run_id=dagster_run_id,
        )
    return FinetuneResult(result, comparison, version)
