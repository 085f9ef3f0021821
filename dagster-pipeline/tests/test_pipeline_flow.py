"""The asset graph materialized in-process on drawn leaves: the starter model becomes the empty
registry's production, a candidate of other classes with its lineage replaces it; retraining (the
`training` job) fine-tunes production with replay, keeps the class set's frozen test split, and the
gate keeps production when the candidate is not better; drifted logs fail the drift check and make the
sensor request retraining."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from agrorisk_common.drift_summary import REPORT_KEY, SUMMARY_KEY, DriftSummary
from agrorisk_common.prediction_log import append_records
from agrorisk_devtools.flow_stack import RISKS, flow_resources
from agrorisk_pipeline.defs.sensors import retrain_on_drift, retrain_on_feedback
from agrorisk_pipeline.flow import materialize_flow, run_job
from agrorisk_pipeline.frozen_split import alias_for
from agrorisk_pipeline.settings import Settings
from agrorisk_storage import open_store

pytestmark = pytest.mark.slow


resources = flow_resources


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flow")
    res = resources(tmp)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_flow(resources=res, instance=instance)
    return tmp, res, instance, result


def checks(result) -> dict[str, bool]:
    return {c.check_name: c.passed for c in result.result.get_asset_check_evaluations()}


def test_full_flow_registers_the_starter_then_a_candidate_with_its_lineage(flow_run):
    _, res, _, result = flow_run
    assert result.success, result.summary
    models = res["registry"].models()
    starter, candidate = models.list()
    assert starter.metadata["lineage"]["start"] == "starter v2" and len(starter.metadata["class_names"]) == 5
    assert models.alias_history("production") == [starter.version, candidate.version]
    assert sorted(candidate.files) == ["best.onnx", "best.pt", "metrics.json"]
    meta = candidate.metadata
    assert meta["dagster_run_id"] == result.run_id == meta["lineage"]["dagster_run_id"]
    assert meta["lineage"]["parent_version"] is None  # other classes than production: not a fine-tune
    assert meta["lineage"]["reason"].startswith("classes changed (production v1")
    assert meta["start_weights"]["kind"] == "random" and meta["git_commit"]
    assert meta["dataset_version"] == "v1" and len(meta["dataset_hash"]) == 64
    assert "offline-run" in meta["wandb_run"] and meta["class_names"] == RISKS
    datasets = res["registry"].datasets()
    assert datasets.aliases()[alias_for(RISKS)] == "v1"
    assert meta["dataset_hash"] == datasets.show("v1").metadata["dataset_hash"]  # the labelling content hash
    assert datasets.show("v1").metadata["dagster_run_id"] == result.run_id
    assert checks(result) == {"dataset_quality": True, "model_quality_gate": True, "no_drift": True}


def test_drifted_log_fails_the_drift_check_and_requests_retraining(flow_run, leaf_records):
    tmp, res, instance, _ = flow_run
    context = dg.build_sensor_context(instance=instance)
    assert isinstance(retrain_on_drift(context), dg.SkipReason)  # empty log: insufficient data, no drift

    log_dir = tmp / "log"
    for path in log_dir.glob("*.jsonl"):
        path.unlink()
    append_records(
        log_dir / "2026-11-01.jsonl", leaf_records(40, seed=11, dark=True, class_weights=(0.1, 0.9))
    )
    drifted = materialize_flow(resources=res, instance=instance, selection="drift_report")
    assert drifted.success, drifted.summary
    assert checks(drifted) == {"no_drift": False}
    request = retrain_on_drift(dg.build_sensor_context(instance=instance, cursor=context.cursor))
    assert isinstance(request, dg.RunRequest) and request.tags["agrorisk/trigger"] == "drift"
    assert "brightness" in request.tags["agrorisk/drifted_columns"]
    report = instance.get_latest_materialization_event(dg.AssetKey("drift_report")).asset_materialization
    assert report.metadata["report"].value.endswith("drift-report.html")
    # The log's answers are of v1, the reference of production v2: inputs drift, outputs are not compared.
    assert report.metadata["outputs"].value == (
        "not compared: the live answers are of model versions {'v1': 40}, the reference of v2"
    )
    assert report.metadata["reference_settings"].value == "onnxruntime conf 0.25 IoU 0.45 max 100"
    # Published where the backend's GET /v1/drift and the UI's Models tab read it.
    store = open_store(res["registry"].storage_settings(), Settings().shared_bucket)
    summary = DriftSummary.model_validate_json(store.get_bytes(SUMMARY_KEY))
    assert summary.run_id == drifted.run_id and summary.status == "drift" and summary.has_report
    assert "brightness" in summary.drifted_columns and summary.reference_model_version == "v2"
    assert store.get_bytes(REPORT_KEY) == Path(report.metadata["report"].value).read_bytes()


def test_retraining_fine_tunes_production_with_replay_and_the_gate_keeps_a_candidate_not_better(flow_run):
    tmp, res, instance, first = flow_run
    more_photos = resources(tmp, images_per_class=12, gate_margin=1.0)  # no candidate beats production by 1
    result = run_job("training", more_photos, instance)
    assert result.success
    assert instance.get_run_by_id(result.run_id).job_name == "training"
    models, datasets = res["registry"].models(), res["registry"].datasets()
    assert [v.version for v in models.list()] == ["v1", "v2", "v3"]
    lineage = models.show("v3").metadata["lineage"]
    assert lineage["parent_version"] == "v2" and lineage["replay_from"] == "v1"
    assert (
        lineage["start"].startswith("production v2 (")
        and models.show("v3").metadata["dataset_version"] == "v2"
    )
    assert models.show("v3").metadata["comparison"]["base_version"] == "v2"
    assert datasets.aliases()[alias_for(RISKS)] == "v1"  # same classes: the frozen test split stays
    assert {c.check_name: c.passed for c in result.get_asset_check_evaluations()}[
        "model_quality_gate"
    ] is False
    assert models.aliases()["production"] == "v2"
    production = instance.get_latest_materialization_event(
        dg.AssetKey("production_model")
    ).asset_materialization
    assert production.metadata["promoted"].value is False


def test_feedback_sensor_requests_retraining_after_enough_negative_feedback(flow_run):
    tmp, res, _, _ = flow_run
    day = tmp / "feedback" / "2026-11-02"
    day.mkdir(parents=True)
    for n in range(2):
        (day / f"f{n}.json").write_text(
            f'{{"verdict": "wrong", "created_at": "2026-11-02T10:0{n}:00+00:00", "image_file": "x", "image_sha256": "{n}"}}'
        )
    context = dg.build_sensor_context(resources={"flow": res["flow"]})
    request = retrain_on_feedback(context)
    assert isinstance(request, dg.RunRequest) and request.tags["agrorisk/new_signals"] == "2"
    again = retrain_on_feedback(
        dg.build_sensor_context(resources={"flow": res["flow"]}, cursor=context.cursor)
    )
    assert isinstance(again, dg.SkipReason)
