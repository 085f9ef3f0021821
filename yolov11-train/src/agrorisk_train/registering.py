"""Put a finished training run into the model registry with the metadata CONTRACTS.md names.

Registering never promotes: `agrorisk-storage models promote` (or the pipeline) does, after a person
or a check has looked at the metrics and, for fine-tunes, the old-vs-new comparison.
"""

from __future__ import annotations

import getpass
import logging
import math
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agrorisk_train.datasets import dataset_hash as hash_of_dataset
from agrorisk_train.export import export_onnx
from agrorisk_train.settings import TrainSettings
from agrorisk_train.training import TrainResult

log = logging.getLogger(__name__)


def register_model(
    registry,
    result: TrainResult,
    settings: TrainSettings,
    *,
    data_yaml: str | Path | None = None,
    onnx_path: Path | None = None,
    dataset_version: str | None = None,
    comparison: Mapping[str, Any] | None = None,
    optuna_study: str | None = None,
    optuna_trial: int | None = None,
    dagster_run_id: str | None = None,
    dataset_hash: str | None = None,
    lineage: Mapping[str, Any] | None = None,
):
    """Push best.pt, best.onnx (exported and checked here unless given) and metrics.json as a new
    version; returns the registry's VersionInfo. `data_yaml` defaults to the one the run trained on.
    `dataset_hash` (e.g. the dataset registry's content hash) is recorded as given; without it the
    hash of `data_yaml`'s files is computed here. `lineage` (parent version, why this start, replay…)
    is recorded as given."""
    if not result.best_pt.is_file():
        raise FileNotFoundError(f"run {result.run_dir} has no best.pt")
    if onnx_path is None:
        onnx_path = export_onnx(result.best_pt, settings, imgsz=result.imgsz).onnx_path
    data_yaml = data_yaml or result.train_config.get("data")
    if dataset_hash is None and data_yaml:
        dataset_hash = hash_of_dataset(data_yaml)
    metadata = {
        "metrics": _finite(result.metrics),
        "train_config": _finite(result.train_config),
        "start_weights": result.start,
        "dataset_version": dataset_version,
        "dataset_hash": dataset_hash,
        "wandb_run": result.wandb_run,
        "optuna_study": optuna_study,
        "optuna_trial": optuna_trial,
        "git_commit": settings.git_commit or git_commit(),
        "creator": _user(),
        "dagster_run_id": dagster_run_id,
        "class_names": list(result.class_names),
        "imgsz": result.imgsz,
        "comparison": _finite(dict(comparison)) if comparison else None,
        "lineage": _finite(dict(lineage)) if lineage else None,
    }
    files = {"best.pt": result.best_pt, "best.onnx": onnx_path, "metrics.json": result.metrics_json}
    info = registry.push(files, metadata)
    log.info("registered %s as %s in %s (not promoted)", result.run_dir.name, info.version, registry.location)
    return info


def git_commit(cwd: Path | None = None) -> str | None:
    """The commit the code runs from, or None outside a git checkout (e.g. in a container)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, paths become strings."""
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
