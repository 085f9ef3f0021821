"""The `retrain_on_request` sensor: each retrain request of the backend's admin API launches one run."""

from __future__ import annotations

import json

import dagster as dg

from agrorisk_pipeline.defs.resources import FlowResource
from agrorisk_pipeline.defs.sensors import retrain_on_request
from agrorisk_pipeline.settings import Settings


def write_request(folder, stamp: str, request_id: str, reason: str) -> None:
    """A request file as `POST /v1/admin/retrain` names and writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"id": request_id, "created_at": "2026-11-02T10:00:00+00:00", "reason": reason}
    (folder / f"{stamp}-{request_id}.json").write_text(json.dumps(payload))


def evaluate(flow: FlowResource, cursor: str | None = None):
    context = dg.build_sensor_context(resources={"flow": flow}, cursor=cursor)
    return retrain_on_request(context), context


def test_each_new_request_launches_one_retrain_run_once(tmp_path):
    folder = tmp_path / "retrain-requests"
    flow = FlowResource.from_settings(Settings(), retrain_requests_dir=str(folder))
    result, _ = evaluate(flow)
    assert isinstance(result, dg.SkipReason) and "no new retrain request" in result.skip_message

    write_request(folder, "20261102T100000000001Z", "b" * 32, "drift on brightness")
    write_request(folder, "20261102T100000000002Z", "a" * 32, "new labels")
    (folder / "20261102T100000000003Z-half.tmp").write_text("{")  # still being written: not a request
    result, _ = evaluate(flow)
    assert isinstance(result, dg.SensorResult)
    assert [r.tags["agrorisk/reason"] for r in result.run_requests] == ["drift on brightness", "new labels"]
    assert {r.tags["agrorisk/trigger"] for r in result.run_requests} == {"request"}
    assert result.cursor == f"20261102T100000000002Z-{'a' * 32}.json"

    again, _ = evaluate(flow, cursor=result.cursor)
    assert isinstance(again, dg.SkipReason)
    write_request(folder, "20261102T110000000000Z", "c" * 32, "after a fix")
    later, _ = evaluate(flow, cursor=result.cursor)
    assert [r.run_key for r in later.run_requests] == [f"request-20261102T110000000000Z-{'c' * 32}"]


def test_an_unreadable_request_is_skipped_and_the_cursor_moves_on(tmp_path):
    folder = tmp_path / "retrain-requests"
    folder.mkdir()
    (folder / "20261102T100000000000Z-broken.json").write_text("not json")
    write_request(folder, "20261102T100000000001Z", "d" * 32, "ok")
    flow = FlowResource.from_settings(Settings(), retrain_requests_dir=str(folder))
    result, _ = evaluate(flow)
    assert [r.tags["agrorisk/request_id"] for r in result.run_requests] == ["d" * 32]
    assert result.cursor.startswith("20261102T100000000001Z")
