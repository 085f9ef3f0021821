"""`agrorisk-train wandb-sync`: offline W&B runs of real trainings wait until a W&B server is configured."""

from __future__ import annotations

from typer.testing import CliRunner

from agrorisk_train.cli import app
from agrorisk_train.wandb_sync import SYNCED, offline_runs


def test_offline_runs_are_found_once_and_wait_for_a_configured_server(trained, monkeypatch, tmp_path):
    """`trained` (conftest) is a real two-epoch run logged to W&B offline."""
    root = trained.run_dir.parent
    waiting = offline_runs(root)
    assert waiting and all(run.parent.name == "wandb" for run in waiting)

    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["wandb-sync", str(root)])
    assert result.exit_code == 1
    assert (
        "W&B is not configured: set WANDB_API_KEY" in result.output
        and f"{len(waiting)} offline run(s) wait" in result.output
    )

    uploaded = tmp_path / "wandb" / "offline-run-20261203_000000-done"
    uploaded.mkdir(parents=True)
    (uploaded / SYNCED).touch()
    assert offline_runs(tmp_path) == []  # an uploaded run is not sent again
