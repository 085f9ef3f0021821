"""The scale-out path: two `agrorisk-train tune` workers share one study in a real local PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from agrorisk_train.cli import app

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: switch to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def postgres_url():
    initdb = PG_BIN / "initdb" if (PG_BIN / "initdb").exists() else shutil.which("initdb")
    if initdb is None:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="agrorisk-pg-"))  # pytest's tmp tree is private to root
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data, pg_ctl = root / "data", Path(initdb).with_name("pg_ctl")
    subprocess.run(_as_postgres([str(initdb), "-D", str(data), "-A", "trust", "-U", "optuna"]),
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(
        _as_postgres([str(pg_ctl), "-D", str(data), "-l", str(root / "log"), "-w", "start",
                      "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1"]),
        check=True, capture_output=True,
    )  # fmt: skip
    yield f"postgresql://optuna:unused-password@127.0.0.1:{port}/postgres"
    subprocess.run(_as_postgres([str(pg_ctl), "-D", str(data), "-m", "fast", "stop"]), capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


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
