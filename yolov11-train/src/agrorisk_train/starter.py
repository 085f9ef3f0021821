"""The committed starter model (models/starter/best.pt + MODEL_CARD.md, YOLO11n the project trained on
real PlantDoc photos) as the first production version of an empty model registry, with its lineage,
so that later candidates fine-tune from it and must beat it at the quality gate."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from agrorisk_train.training import METRIC_NAMES, TrainResult

CARD = "MODEL_CARD.md"


def starter_name(best_pt: Path) -> str:
    """'starter v2' from the model card's title beside the weights ('starter' without one)."""
    card = best_pt.with_name(CARD)
    title = card.read_text(encoding="utf-8").splitlines()[0] if card.is_file() else ""
    found = re.search(r"starter model (v\d+)", title, re.IGNORECASE)
    return f"starter {found.group(1)}" if found else "starter"


def register_starter(models, best_pt: Path, settings, work: Path, *, dagster_run_id: str | None = None):
    """Push the starter model (best.pt, its ONNX export, the metrics of its checkpoint) as a new version
    with lineage `start: starter vN` and point `production` at it; returns the VersionInfo."""
    import torch

    from agrorisk_train import offline
    from agrorisk_train.registering import register_model

    offline.ultralytics_settings(settings.project_dir, settings.config_dir)  # before unpickling loads it
    work.mkdir(parents=True, exist_ok=True)
    weights = work / "best.pt"  # the export writes best.onnx beside it: never into models/starter/
    shutil.copyfile(best_pt, weights)
    checkpoint = torch.load(weights, map_location="cpu", weights_only=False)
    names = [checkpoint["model"].names[i] for i in sorted(checkpoint["model"].names)]
    metrics = {
        METRIC_NAMES[k]: round(float(v), 6)
        for k, v in checkpoint["train_metrics"].items()
        if k in METRIC_NAMES
    }
    metrics_json = work / "metrics.json"
    metrics_json.write_text(
        json.dumps({**metrics, "source": f"{best_pt} checkpoint, validation split"}, indent=2)
    )
    name = starter_name(best_pt)
    result = TrainResult(
        best_pt=weights,
        metrics=metrics,
        wandb_run=None,
        run_dir=work,
        metrics_json=metrics_json,
        class_names=names,
        imgsz=int(checkpoint["train_args"]["imgsz"]),
        start={"requested": str(best_pt), "kind": "starter", "note": name, "registry_version": None},
        train_config={k: checkpoint["train_args"].get(k) for k in ("epochs", "imgsz", "batch", "optimizer")},
    )
    info = register_model(
        models, result, settings, dagster_run_id=dagster_run_id,
        lineage={"start": name, "parent_version": None, "model_card": str(best_pt.with_name(CARD))},
    )  # fmt: skip
    return models.promote(info.version, "production")
