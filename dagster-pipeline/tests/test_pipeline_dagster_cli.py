"""The code location as Dagster's own tools load it: `definitions validate` and `dagster dev`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from agrorisk_common.ports import free_port

BIN = Path(sys.executable).parent
MODULE = "agrorisk_pipeline.definitions"
ASSETS = {
    "risk_catalog", "crawled_images", "auto_labels", "labeled_dataset", "synthetic_topup", "dataset_version",
    "starter_model", "trained_model", "tuned_params", "candidate_model", "evaluation", "production_model", "batch_inference",
    "drift_report", "active_learning_queue",
}  # fmt: skip
# dagster maps SIGTERM to its SIGINT handler, and a child started from a non-interactive shell ignores SIGINT.
LAUNCHER = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError {
  __typename ... on PythonError { message } } } } }
  repositoriesOrError { ... on RepositoryConnection { nodes { name sensors { name } schedules { name }
  assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name } } } } } } } }"""


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1"}


def test_definitions_validate(tmp_path):
    run = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", MODULE],
        env=_env(tmp_path), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Validation successful" in run.stdout + run.stderr


def _graphql(port: int) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


@pytest.mark.slow
def test_dagster_dev_loads_every_asset_check_sensor_and_schedule(tmp_path):
    port = free_port()
    command = [
        sys.executable,
        "-c",
        LAUNCHER,
        str(BIN / "dagster"),
        "dev",
        "-m",
        MODULE,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    process = subprocess.Popen(
        command, env=_env(tmp_path), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )  # fmt: skip
    try:
        deadline, data = time.monotonic() + 120, None
        while time.monotonic() < deadline:
            assert process.poll() is None, "dagster dev exited early"
            try:
                data = _graphql(port)
                entries = data["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["locationOrLoadError"] and data["repositoriesOrError"].get("nodes"):
                    break
            except (OSError, KeyError, TypeError):
                pass
            time.sleep(1)
        assert data is not None, "the webserver never answered"
        location = data["workspaceOrError"]["locationEntries"][0]["locationOrLoadError"]
        assert location["__typename"] == "RepositoryLocation", location
        (repo,) = data["repositoriesOrError"]["nodes"]
        assert {"/".join(a["assetKey"]["path"]) for a in repo["assetNodes"]} == ASSETS
        checks = {c["name"] for a in repo["assetNodes"] for c in a["assetChecksOrError"].get("checks", [])}
        assert checks == {"dataset_quality", "model_quality_gate", "no_drift"}
        assert {s["name"] for s in repo["sensors"]} == {
            "retrain_on_drift",
            "retrain_on_feedback",
            "retrain_on_request",
            "wandb_sync_when_configured",
        }
        assert {s["name"] for s in repo["schedules"]} == {"nightly_monitoring"}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_compose_instance_config_is_valid_for_postgres(monkeypatch):
    from dagster._core.instance.config import dagster_instance_config

    for name in ("HOST", "USER", "PASSWORD", "DB"):
        monkeypatch.setenv(f"DAGSTER_POSTGRES_{name}", "x")
    config, _ = dagster_instance_config(str(Path(__file__).parents[1] / "deploy"))
    assert "postgres" in config["storage"]
