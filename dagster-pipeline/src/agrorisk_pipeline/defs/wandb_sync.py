"""W&B sync: trainings without a reachable W&B server log offline; once WANDB_API_KEY (and
WANDB_BASE_URL for a local server) are set, a sensor launches the `wandb_sync` job that uploads
every offline run once (`agrorisk_train.wandb_sync`)."""

import hashlib
import os

import dagster as dg

from agrorisk_pipeline.defs.resources import FlowResource


def runs_root(flow: FlowResource):
    """Where the flow's trainings write their runs (and their `wandb/offline-run-*` folders)."""
    return flow.settings().work_dir / "runs"


@dg.op(description="`wandb sync` each offline run of the flow's trainings, once")
def upload_offline_runs(context: dg.OpExecutionContext, flow: FlowResource) -> int:
    from agrorisk_train.wandb_sync import sync_offline_runs

    try:
        synced, errors = sync_offline_runs(runs_root(flow))
    except ValueError as exc:  # not configured
        raise dg.Failure(description=str(exc)) from None
    context.log.info("uploaded %d offline W&B run(s): %s", len(synced), [run.name for run in synced])
    if errors:
        raise dg.Failure(description=f"{len(errors)} run(s) not uploaded: {'; '.join(errors)}")
    return len(synced)


@dg.job(description="upload the offline W&B runs to the W&B server of WANDB_BASE_URL")
def wandb_sync():
    upload_offline_runs()


@dg.sensor(job=wandb_sync, minimum_interval_seconds=900, default_status=dg.DefaultSensorStatus.RUNNING)
def wandb_sync_when_configured(context: dg.SensorEvaluationContext, flow: FlowResource):
    """Offline runs wait and W&B is configured: sync them (once per set of waiting runs)."""
    from agrorisk_train.wandb_sync import offline_runs

    waiting = offline_runs(runs_root(flow))
    if not waiting:
        return dg.SkipReason("no offline W&B run waits")
    if not os.environ.get("WANDB_API_KEY"):
        return dg.SkipReason(f"W&B is not configured (WANDB_API_KEY): {len(waiting)} offline run(s) wait")
    names = "\n".join(run.name for run in waiting)
    context.log.info("%d offline W&B run(s) to upload", len(waiting))
    return dg.RunRequest(run_key=f"wandb-{hashlib.sha256(names.encode()).hexdigest()[:16]}")
