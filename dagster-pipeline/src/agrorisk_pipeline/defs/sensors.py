"""Sensors that launch retraining: on dataset drift, on enough new feedback or human labels, and on
a retrain request of the backend's admin API."""

import json

import dagster as dg

from agrorisk_pipeline.defs.jobs import retrain_job
from agrorisk_pipeline.defs.resources import FlowResource, RegistryResource

TRIGGER_TAG = "agrorisk/trigger"


@dg.sensor(job=retrain_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED)
def retrain_on_drift(context: dg.SensorEvaluationContext):
    """A new drift report with a dataset-drift verdict launches retraining (once per report)."""
    records = context.instance.fetch_materializations(dg.AssetKey("drift_report"), limit=1).records
    materialization = records[0].asset_materialization if records else None
    if materialization is None:
        return dg.SkipReason("no drift report yet")
    record = records[0]
    if context.cursor and int(context.cursor) >= record.storage_id:
        return dg.SkipReason("no new drift report")
    context.update_cursor(str(record.storage_id))
    metadata = materialization.metadata
    columns = metadata["drifted_columns"].value
    drifted = [str(column) for column in columns] if isinstance(columns, list) else []
    if not metadata["dataset_drift"].value:
        return dg.SkipReason(f"latest drift report: no dataset drift (drifted: {drifted or 'none'})")
    context.log.info("dataset drift in %s: requesting retraining", drifted)
    return dg.RunRequest(
        run_key=f"drift-{record.storage_id}",
        tags={TRIGGER_TAG: "drift", "agrorisk/drifted_columns": ",".join(drifted)[:200]},
    )


def review_signal_times(flow: FlowResource, registry: RegistryResource | None = None) -> list[str]:
    """ISO times of negative feedback (mirrored from the shared store first, when there is one) and
    of human labels in the pool."""
    from agrorisk_labeling.labels import LabelSource, LabelStore
    from agrorisk_labeling.manifest import labels_path_of
    from agrorisk_pipeline.active_learning import read_feedback
    from agrorisk_pipeline.shared_store import mirror_if_shared

    settings = flow.settings()
    mirror_if_shared(settings, (registry or RegistryResource()).storage_settings())
    times = [
        f.get("created_at", "") for f in read_feedback(settings.feedback_dir) if f.get("verdict") == "wrong"
    ]
    store = LabelStore.load(labels_path_of(settings.manifest))
    times += [labels.updated_at for labels in store if labels.source == LabelSource.HUMAN]
    return sorted(t for t in times if t)


@dg.sensor(job=retrain_job, minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.STOPPED)
def retrain_on_feedback(context: dg.SensorEvaluationContext, flow: FlowResource):
    """`feedback_min_new` new negative feedbacks or human labels since the last request launch retraining."""
    needed = flow.settings().feedback_min_new
    new = [t for t in review_signal_times(flow) if t > (context.cursor or "")]
    if len(new) < needed:
        return dg.SkipReason(f"{len(new)} new feedback/labels, retraining needs {needed}")
    context.update_cursor(new[-1])
    context.log.info("%d new feedback/labels: requesting retraining", len(new))
    return dg.RunRequest(
        run_key=f"feedback-{new[-1]}", tags={TRIGGER_TAG: "feedback", "agrorisk/new_signals": str(len(new))}
    )


@dg.sensor(job=retrain_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def retrain_on_request(context: dg.SensorEvaluationContext, flow: FlowResource):
    """Each request file of the backend's `POST /v1/admin/retrain` launches one retraining run.

    Request files are named `<UTC time>-<id>.json`, so names sort by time; the cursor is the name of
    the newest file handled. On by default: it only acts on an explicit request of an admin."""
    folder = flow.settings().retrain_requests_dir
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    new = [path for path in files if path.name > (context.cursor or "")]
    if not new:
        return dg.SkipReason(f"no new retrain request in {folder}")
    runs = []
    for path in new:
        try:
            request = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            context.log.warning("skipping unreadable retrain request %s: %s", path.name, exc)
            continue
        context.log.info("retrain request %s (%s): requesting retraining", path.name, request.get("reason"))
        runs.append(
            dg.RunRequest(
                run_key=f"request-{path.stem}",
                tags={
                    TRIGGER_TAG: "request",
                    "agrorisk/request_id": str(request.get("id", path.stem))[:64],
                    "agrorisk/reason": str(request.get("reason", ""))[:200],
                },
            )
        )
    return dg.SensorResult(run_requests=runs, cursor=new[-1].name)
