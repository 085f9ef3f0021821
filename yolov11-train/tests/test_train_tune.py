"""`agrorisk-train tune`: a real 2-trial Optuna study in SQLite with per-epoch pruning reports."""

from __future__ import annotations

import json
from types import SimpleNamespace

import optuna
import pytest
from typer.testing import CliRunner

from agrorisk_train.cli import app
from agrorisk_train.optuna_tuning import PruningCallback
from agrorisk_train.tuning import public_storage_url

SEARCHED = {"lr0", "lrf", "momentum", "weight_decay", "warmup_epochs", "box", "cls", "hsv_h", "hsv_s", "hsv_v",
            "fliplr", "flipud", "mosaic", "imgsz", "batch"}  # fmt: skip


@pytest.mark.usefixtures("offline_env")
def test_tune_records_both_trials_with_a_pruner_report_every_epoch(leaf_data, tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    result = CliRunner().invoke(
        app,
        ["tune", "--data", str(leaf_data), "--trials", "2", "--storage", storage, "--study", "leaf-study",
         "--epochs-per-trial", "2", "--imgsz-choice", "64", "--batch-choice", "4", "--batch-choice", "8",
         "--project", str(tmp_path / "runs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    study = optuna.load_study(study_name="leaf-study", storage=storage)
    assert len(study.trials) == 2
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert sorted(trial.intermediate_values) == [0, 1]  # one report per epoch, not for the final val
        assert trial.user_attrs["pruner_checks"] == 2
        assert set(trial.params) == SEARCHED
        assert "offline-run-" in trial.user_attrs["wandb_run"]

    best = json.loads((tmp_path / "runs" / "tune" / "leaf-study" / "best_params.json").read_text())
    assert best["study"] == "leaf-study" and best["n_trials"] == 2
    assert best["params"] == study.best_params and best["best_trial"] == study.best_trial.number
    assert (tmp_path / "runs" / "tune" / "leaf-study" / "optimization_history.html").is_file()


def test_pruned_trials_stop_training_and_the_final_validation_is_not_an_epoch(tmp_path):
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path / 'p.db'}", direction="maximize",
        pruner=optuna.pruners.ThresholdPruner(lower=0.5),
    )  # fmt: skip
    trial = study.ask()
    callback = PruningCallback(trial)
    trainer = SimpleNamespace(epoch=0, stop=False, metrics={"val/box_loss": 1.0, "metrics/mAP50-95(B)": 0.1})
    callback(trainer)
    assert trainer.stop and callback.pruned_at == 0
    final_validation = SimpleNamespace(epoch=1, stop=False, metrics={"metrics/mAP50-95(B)": 0.1})
    callback(final_validation)
    assert callback.reported_epochs == [0] and not final_validation.stop
    assert study.trials[0].intermediate_values == {0: 0.1}


def test_storage_passwords_never_reach_logs_or_files():
    shown = public_storage_url("postgresql+psycopg://optuna:s3cret@db:5432/optuna")
    assert "s3cret" not in shown and shown == "postgresql+psycopg://optuna:***@db:5432/optuna"
    assert public_storage_url("sqlite:///runs/optuna.db") == "sqlite:///runs/optuna.db"
