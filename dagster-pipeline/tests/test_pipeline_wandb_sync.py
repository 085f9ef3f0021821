"""The `wandb_sync_when_configured` sensor and the `wandb_sync` job: offline W&B runs of the flow's
trainings wait until W&B is configured, then are uploaded, each set once."""

from __future__ import annotations

import dagster as dg

from agrorisk_pipeline.defs.resources import FlowResource
from agrorisk_pipeline.defs.wandb_sync import wandb_sync, wandb_sync_when_configured
from agrorisk_pipeline.settings import Settings
from agrorisk_train.wandb_sync import SYNCED


def offline_run(flow: FlowResource, name: str):
    run = flow.settings().work_dir / "runs" / "train" / "wandb" / name
    run.mkdir(parents=True)
    return run


def evaluate(flow: FlowResource):
    return wandb_sync_when_configured(dg.build_sensor_context(resources={"flow": flow}))


def test_offline_runs_wait_for_a_configured_server_then_one_sync_is_requested_per_set(tmp_path, monkeypatch):
    flow = FlowResource.from_settings(Settings(), work_dir=str(tmp_path / "work"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert evaluate(flow).skip_message == "no offline W&B run waits"

    first = offline_run(flow, "offline-run-20261204_010000-a1")
    assert evaluate(flow).skip_message == "W&B is not configured (WANDB_API_KEY): 1 offline run(s) wait"

    monkeypatch.setenv("WANDB_API_KEY", "local-server-key")
    request = evaluate(flow)
    assert isinstance(request, dg.RunRequest) and request.run_key == evaluate(flow).run_key  # the same set
    offline_run(flow, "offline-run-20261204_020000-b2")
    assert evaluate(flow).run_key != request.run_key  # a new run waits: a new request

    (first / SYNCED).touch()
    (first.parent / "offline-run-20261204_020000-b2" / SYNCED).touch()
    assert evaluate(flow).skip_message == "no offline W&B run waits"


def test_the_job_fails_with_the_reason_when_w_and_b_is_not_configured(tmp_path, monkeypatch):
    flow = FlowResource.from_settings(Settings(), work_dir=str(tmp_path / "work"))
    offline_run(flow, "offline-run-20261204_010000-a1")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    result = wandb_sync.execute_in_process(resources={"flow": flow}, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "W&B is not configured: set WANDB_API_KEY" in str(failure.event_specific_data)
    assert "1 offline run(s) wait" in str(failure.event_specific_data)
