"""Train YOLO11 on a YOLO dataset: reproducible, early-stopped, tracked in W&B, results on disk."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from agrorisk_train import offline
from agrorisk_train.datasets import absolute_data_yaml, risk_ids
from agrorisk_train.settings import TrainSettings
from agrorisk_train.wandb_logging import WandbLogger
from agrorisk_train.weights import StartWeights, resolve_device, resolve_start_weights

if TYPE_CHECKING:
    from ultralytics.engine.trainer import BaseTrainer

log = logging.getLogger(__name__)

RESULT_FILE = "train_result.json"
METRIC_NAMES = {
    "metrics/precision(B)": "precision",
    "metrics/recall(B)": "recall",
    "metrics/mAP50(B)": "map50",
    "metrics/mAP50-95(B)": "map50_95",
}

Callback = Callable[[Any], None]


@dataclass
class TrainResult:
    best_pt: Path
    metrics: dict[str, float]
    wandb_run: str | None
    run_dir: Path
    metrics_json: Path
    class_names: list[str]
    imgsz: int
    start: dict[str, Any] = field(default_factory=dict)
    train_config: dict[str, Any] = field(default_factory=dict)

    def save(self) -> Path:
        path = self.run_dir / RESULT_FILE
        path.write_text(json.dumps(asdict(self), indent=2, default=str))
        return path

    @classmethod
    def load(cls, run_dir: str | Path) -> TrainResult:
        """The result of a finished run folder (as written by `train`)."""
        path = Path(run_dir) / RESULT_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir} is not a finished agrorisk-train run (no {RESULT_FILE})")
        raw = json.loads(path.read_text())
        for key in ("best_pt", "run_dir", "metrics_json"):
            raw[key] = Path(raw[key])
        return cls(**raw)


def train(
    settings: TrainSettings,
    data_yaml: str | Path,
    *,
    model: str | None = None,
    run_name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    callbacks: Mapping[str, list[Callback]] | None = None,
    wandb_group: str | None = None,
    wandb_job_type: str = "train",
    wandb_config: Mapping[str, Any] | None = None,
    registry=None,
) -> TrainResult:
    """Train one model and return where its best weights, metrics and W&B run are.

    `model` overrides `settings.model` (see `resolve_start_weights`); `overrides` are extra Ultralytics
    train arguments (hyper-parameters, freeze, …); `callbacks` maps Ultralytics events to functions.
    """
    project = settings.project_dir.expanduser().resolve()
    offline.ultralytics_settings(project, settings.config_dir)
    from ultralytics import YOLO

    names = risk_ids(data_yaml)
    run_name = run_name or datetime.now().strftime("train-%Y%m%d-%H%M%S")
    data = absolute_data_yaml(data_yaml, project / "datasets" / run_name)
    start = resolve_start_weights(settings, model, registry)
    device = resolve_device(settings.device)
    args: dict[str, Any] = {
        "data": str(data),
        "epochs": settings.epochs,
        "imgsz": settings.imgsz,
        "batch": settings.batch,
        "device": device,
        "workers": settings.workers,
        "seed": settings.seed,
        "deterministic": True,
        "patience": settings.patience,
        "optimizer": settings.optimizer,
        "project": str(project),
        "name": run_name,
        "exist_ok": False,
        "pretrained": start.pretrained,
        "amp": device != "cpu",
        "plots": settings.plots,
        "verbose": False,
        **(overrides or {}),
    }
    yolo = YOLO(start.path)
    tracker = WandbLogger(
        settings,
        group=wandb_group,
        job_type=wandb_job_type,
        extra_config={
            "start_weights": start.note,
            "start": start.kind,
            "class_names": names,
            **(wandb_config or {}),
        },
    )
    tracker.attach(yolo)
    for event, functions in (callbacks or {}).items():
        for function in functions:
            yolo.add_callback(event, function)
    log.info(
        "training %s on %s (%s, %d epochs, imgsz %d)", start.note, data, device, args["epochs"], args["imgsz"]
    )
    yolo.train(**args)
    trainer = cast("BaseTrainer", yolo.trainer)  # set by train(); one data.yaml, not a MultiTrainer
    run_dir = Path(trainer.save_dir)
    assert trainer.metrics is not None  # train() ends by validating the best model
    metrics = {METRIC_NAMES[k]: round(float(v), 6) for k, v in trainer.metrics.items() if k in METRIC_NAMES}
    metrics["fitness"] = round(0.1 * metrics.get("map50", 0.0) + 0.9 * metrics.get("map50_95", 0.0), 6)
    history = _history(run_dir / "results.csv")
    metrics_json = run_dir / "metrics.json"
    metrics_json.write_text(
        json.dumps({**metrics, "epochs_trained": len(history), "per_epoch": history}, indent=2)
    )
    result = TrainResult(
        best_pt=Path(trainer.best),
        metrics=metrics,
        wandb_run=tracker.run_ref,
        run_dir=run_dir,
        metrics_json=metrics_json,
        class_names=names,
        imgsz=int(args["imgsz"]),
        start=_start_info(start),
        train_config={k: v for k, v in args.items() if k not in ("project", "name", "exist_ok", "verbose")},
    )
    result.save()
    log.info("best model %s: %s", result.best_pt, metrics)
    return result


def _history(results_csv: Path) -> list[dict[str, float]]:
    """Per-epoch rows of Ultralytics' results.csv as numbers."""
    if not results_csv.is_file():
        return []
    with results_csv.open() as f:
        return [{k.strip(): float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _start_info(start: StartWeights) -> dict[str, Any]:
    return {
        "requested": start.requested,
        "kind": start.kind,
        "note": start.note,
        "registry_version": start.registry_version,
    }
