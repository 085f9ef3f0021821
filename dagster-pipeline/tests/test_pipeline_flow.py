"""The asset graph materialized in-process on drawn leaves: a model version with its lineage lands in
the registry; drifted logs fail the drift check and make the sensor request retraining; the quality
gate keeps production when a candidate is not good enough."""

from __future__ import annotations

import dagster as dg
import pytest

from agrorisk_common.prediction_log import append_records
from agrorisk_pipeline.defs.resources import (
    FlowResource,
    GeminiResource,
    LabelStudioResource,
    RegistryResource,
    ServingResource,
    WandbResource,
)
from agrorisk_pipeline.defs.sensors import retrain_on_drift, retrain_on_feedback
from agrorisk_pipeline.flow import materialize_flow
from agrorisk_pipeline.settings import Settings

pytestmark = pytest.mark.slow
RISKS = ["wheat-septoria-leaf-blotch", "wheat-leaf-rust"]


def resources(tmp, **flow_overrides):
    flow = FlowResource.from_settings(
        Settings(),
        work_dir=str(tmp / "work"), risk_ids=RISKS, images_per_class=10, procedural_imgsz=64, imgsz=64,
        epochs=1, batch=8, device="cpu", start_model="yolo11n.yaml", plots=False, tune_trials=0,
        prediction_log_dir=str(tmp / "log"), feedback_dir=str(tmp / "feedback"), inbox_dir=str(tmp / "inbox"),
        reference_max_images=40, drift_min_rows=10, feedback_min_new=2, **flow_overrides,
    )  # fmt: skip
    return {
        "flow": flow,
        "registry": RegistryResource(local_root=str(tmp / "registry"), cache_dir=str(tmp / "cache")),
        "wandb": WandbResource(mode="offline"),
        "gemini": GeminiResource(),
        "label_studio": LabelStudioResource(),
        "serving": ServingResource(),
    }


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flow")
    res = resources(tmp)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_flow(resources=res, instance=instance)
    return tmp, res, instance, result


def checks(result) -> dict[str, bool]:
    return {c.check_name: c.passed for c in result.result.get_asset_check_evaluations()}


def test_full_flow_registers_a_model_with_its_lineage(flow_run):
    _, res, _, result = flow_run
    assert result.success, result.summary
    models = res["registry"].models()
    (version,) = models.list()
    assert sorted(version.files) == ["best.onnx", "best.pt", "metrics.json"]
    meta = version.metadata
    assert meta["dagster_run_id"] == result.run_id
    assert meta["dataset_version"] == "v1" and len(meta["dataset_hash"]) == 64
    assert "offline-run" in meta["wandb_run"] and meta["class_names"] == RISKS
    assert models.aliases()["production"] == version.version  # first candidate: no production to beat
    datasets = res["registry"].datasets()
    assert datasets.aliases()["test-frozen"] == "v1"
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


def test_quality_gate_keeps_production_when_the_candidate_is_not_better(flow_run):
    tmp, res, instance, _ = flow_run
    strict = resources(tmp, gate_margin=-0.05)  # a candidate must beat production by 0.05 mAP50
    result = materialize_flow(resources=strict, instance=instance, selection="candidate_model++")
    assert checks(result)["model_quality_gate"] is False
    models = res["registry"].models()
    assert [v.version for v in models.list()] == ["v1", "v2"]
    assert models.aliases()["production"] == "v1"
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
