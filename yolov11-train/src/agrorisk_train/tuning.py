"""Hyper-parameter search with Optuna: one study (SQLite by default, PostgreSQL to share it between
machines), each trial a short training run logged to W&B in the study's group, pruned per epoch.

Look at a study with `optuna-dashboard <storage URL>`; `best_params.json` and
`optimization_history.html` are written next to the runs as well.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import optuna

from agrorisk_train.optuna_tuning import PruningCallback
from agrorisk_train.settings import TrainSettings
from agrorisk_train.training import TrainResult, train

log = logging.getLogger(__name__)


@dataclass
class TuneResult:
    study_name: str
    storage: str
    best_trial: int
    best_value: float
    best_params: dict[str, Any]
    best_params_json: Path
    n_trials: int
    final: TrainResult | None


def suggest_hyperparameters(trial: optuna.Trial, settings: TrainSettings) -> dict[str, Any]:
    """The search space: optimiser, warmup, loss gains, augmentation strengths, image size, batch."""
    return {
        "lr0": trial.suggest_float("lr0", 1e-4, 5e-2, log=True),
        "lrf": trial.suggest_float("lrf", 0.01, 0.5, log=True),
        "momentum": trial.suggest_float("momentum", 0.8, 0.98),
        "weight_decay": trial.suggest_float("weight_decay", 1e-5, 1e-3, log=True),
        "warmup_epochs": trial.suggest_float("warmup_epochs", 0.0, 5.0),
        "box": trial.suggest_float("box", 3.0, 10.0),
        "cls": trial.suggest_float("cls", 0.2, 2.0),
        "hsv_h": trial.suggest_float("hsv_h", 0.0, 0.05),
        "hsv_s": trial.suggest_float("hsv_s", 0.2, 0.9),
        "hsv_v": trial.suggest_float("hsv_v", 0.1, 0.6),
        "fliplr": trial.suggest_float("fliplr", 0.0, 0.5),
        "flipud": trial.suggest_float("flipud", 0.0, 0.5),
        "mosaic": trial.suggest_float("mosaic", 0.0, 1.0),
        "imgsz": trial.suggest_categorical("imgsz", settings.tune_imgsz_choices),
        "batch": trial.suggest_categorical("batch", settings.tune_batch_choices),
    }


def public_storage_url(storage: str) -> str:
    """The storage URL without its password, for logs and files."""
    parts = urlsplit(storage)
    if parts.password is None:
        return storage
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def open_study(
    settings: TrainSettings, storage: str | None = None, study_name: str | None = None
) -> optuna.Study:
    """Create or join the study; several machines pointing at one PostgreSQL URL share its trials."""
    storage = storage or settings.optuna_storage
    if storage.startswith("sqlite:///"):
        Path(storage.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return optuna.create_study(
        study_name=study_name or settings.optuna_study,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=settings.seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=2, n_warmup_steps=settings.tune_pruner_warmup_epochs
        ),
        load_if_exists=True,
    )


def tune(
    settings: TrainSettings,
    data_yaml: str | Path,
    *,
    n_trials: int | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    final_run: bool = False,
    out_dir: str | Path | None = None,
    on_trial_end: Callable[[], None] | None = None,
) -> TuneResult:
    """Run `n_trials` more trials of the study, write best_params.json, and optionally train a
    final model with the best parameters for `settings.epochs` epochs."""
    study = open_study(settings, storage, study_name)
    shown_storage = public_storage_url(storage or settings.optuna_storage)
    out = Path(out_dir or settings.project_dir / "tune" / study.study_name)
    out.mkdir(parents=True, exist_ok=True)

    def objective(trial: optuna.Trial) -> float:
        params = suggest_hyperparameters(trial, settings)
        pruning = PruningCallback(trial)
        result = train(
            settings,
            data_yaml,
            run_name=f"{study.study_name}-trial-{trial.number}",
            overrides={**params, "epochs": settings.tune_epochs, "plots": False},
            callbacks={"on_fit_epoch_end": [pruning]},
            wandb_group=f"optuna-{study.study_name}",
            wandb_job_type="tune",
            wandb_config={"optuna_study": study.study_name, "optuna_trial": trial.number},
        )
        trial.set_user_attr("run_dir", str(result.run_dir))
        trial.set_user_attr("wandb_run", result.wandb_run)
        pruning.raise_if_pruned()
        return result.metrics["fitness"]

    study.optimize(
        objective,
        n_trials=n_trials or settings.tune_trials,
        callbacks=[lambda _study, _trial: on_trial_end()] if on_trial_end else None,
    )
    completed = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    if not completed:
        raise RuntimeError(f"study {study.study_name}: no trial completed (all pruned or failed)")
    best = study.best_trial
    assert best.value is not None  # a completed single-objective trial has its value
    best_json = out / "best_params.json"
    best_json.write_text(
        json.dumps(
            {
                "study": study.study_name,
                "storage": shown_storage,
                "best_trial": best.number,
                "best_value": best.value,
                "params": best.params,
                "run_dir": best.user_attrs.get("run_dir"),
                "wandb_run": best.user_attrs.get("wandb_run"),
                "n_trials": len(study.trials),
            },
            indent=2,
        )
    )
    _write_history_plot(study, out / "optimization_history.html")
    log.info(
        "study %s: best trial %d, fitness %.4f → %s", study.study_name, best.number, best.value, best_json
    )
    final = None
    if final_run:
        final = train(
            settings,
            data_yaml,
            run_name=f"{study.study_name}-best",
            overrides=best.params,
            wandb_group=f"optuna-{study.study_name}",
            wandb_config={"optuna_study": study.study_name, "optuna_trial": best.number},
        )
    return TuneResult(
        study.study_name, shown_storage, best.number, float(best.value), dict(best.params),
        best_json, len(study.trials), final,
    )  # fmt: skip


def _write_history_plot(study: optuna.Study, path: Path) -> None:
    try:
        optuna.visualization.plot_optimization_history(study).write_html(str(path))
    except ImportError:
        log.info("plotly is not installed; skipping %s (optuna-dashboard shows the same)", path.name)
