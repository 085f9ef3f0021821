"""The scale-out path: two `agrorisk-train tune` workers share one study in a real local PostgreSQL."""

from __future__ import annotations

import json

import optuna
import pytest
from typer.testing import CliRunner

from agrorisk_devtools.postgres import PostgresMissing, postgres_server
from agrorisk_train.cli import app


@pytest.fixture(scope="module")
def postgres_url():
    try:
        with postgres_server(user="optuna") as (host, port):
            yield f"postgresql://optuna:unused-password@{host}:{port}/postgres"
    except PostgresMissing as exc:
        pytest.skip(str(exc))


@pytest.mark.slow
@pytest.mark.usefixtures("offline_env")
def test_two_workers_share_one_study_through_postgresql(postgres_url, leaf_data, tmp_path):
    for worker in ("a", "b"):
        result = CliRunner().invoke(
            app,
            ["tune", "--data", str(leaf_data), "--trials", "1", "--storage", postgres_url, "--study", "shared",
             "--epochs-per-trial", "1", "--imgsz-choice", "64", "--batch-choice", "8",
             "--project", str(tmp_path / worker)],
            env={"AGRORISK_TRAIN_WANDB_MODE": "disabled"},  # tracking is tested elsewhere
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "unused-password" not in result.output

    study = optuna.load_study(
        study_name="shared", storage=postgres_url.replace("postgresql:", "postgresql+psycopg:")
    )
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    best = json.loads((tmp_path / "b" / "tune" / "shared" / "best_params.json").read_text())
    assert best["n_trials"] == 2 and "unused-password" not in json.dumps(best)
