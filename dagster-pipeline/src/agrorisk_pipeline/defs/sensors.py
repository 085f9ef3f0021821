"""Sensors that launch retraining: on dataset drift, and on enough new feedback or human labels."""

import dagster as dg

from agrorisk_pipeline.defs.jobs import retrain_job
from agrorisk_pipeline.defs.resources import FlowResource

TRIGGER_TAG = "agrorisk/trigger"


@dg.sensor(job=retrain_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED)
def retrain_on_drift(context: dg.SensorEvaluationContext):
    """A new drift report with a dataset-drift verdict launches retraining (once per report)."""
    records = context.instance.fetch_materializations(dg.AssetKey("drift_report"), limit=1).records
    if not records:
        return dg.SkipReason("no drift report yet")
    record = records[0]
    if context.cursor and int(context.cursor) >= record.storage_id:
        return dg.SkipReason("no new drift report")
    context.update_cursor(str(record.storage_id))
    metadata = record.asset_materialization.metadata
    drifted = metadata["drifted_columns"].value
    if not metadata["dataset_drift"].value:
        return dg.SkipReason(f"latest drift report: no dataset drift (drifted: {drifted or 'none'})")
    context.log.info("dataset drift in %s: requesting retraining", drifted)
    return dg.RunRequest(
        run_key=f"drift-{record.storage_id}",
        tags={TRIGGER_TAG: "drift", "agrorisk/drifted_columns": ",".join(drifted)[:200]},
    )


def review_signal_times(flow: FlowResource) -> list[str]:
    """ISO times of negative feedback and of human labels in the pool."""
    from agrorisk_labeling.labels import LabelSource, LabelStore
    from agrorisk_labeling.manifest import labels_path_of
    from agrorisk_pipeline.active_learning import read_feedback

    settings = flow.settings()
    times = [
        f.get("created_at", "") for f in read_feedback(settings.feedback_dir) if f.get("verdict") == "wrong"
    ]
    store = LabelStore.load(labels_path_of(settings.manifest))
    times += [labels.updated_at for labels in store if labels.source == LabelSource.HUMAN]
    return sorted(t for t in times if t)


@dg.sensor(job=retrain_job, minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.STOPPED)
def retrain_on_feedback(context: dg.SensorEvaluationContext, flow: FlowResource):
    """`feedback_min_new` new negative feedbacks or human labels since the last request launch retraining."""
    new = [t for t in review_signal_times(flow) if t > (context.cursor or "")]
    if len(new) < flow.feedback_min_new:
        return dg.SkipReason(f"{len(new)} new feedback/labels, retraining needs {flow.feedback_min_new}")
    context.update_cursor(new[-1])
    context.log.info("%d new feedback/labels: requesting retraining", len(new))
    return dg.RunRequest(
        run_key=f"feedback-{new[-1]}", tags={TRIGGER_TAG: "feedback", "agrorisk/new_signals": str(len(new))}
    )
