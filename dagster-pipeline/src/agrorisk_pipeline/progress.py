"""Progress of a run for whoever materializes it in this process (`make demo` draws a bar per epoch
from it): records on the `agrorisk_pipeline.progress` logger carrying `step`, `done` and `total`; the
Dagster run log gets the same lines."""

from __future__ import annotations

import logging

import dagster as dg

log = logging.getLogger("agrorisk_pipeline.progress")


def report(context: dg.AssetExecutionContext, done: int, total: int, note: str = "") -> None:
    step = context.asset_key.to_user_string()
    log.info(note, extra={"step": step, "done": done, "total": total})
    if note:
        context.log.info(f"{done}/{total} {note}")


def epoch_callbacks(context: dg.AssetExecutionContext) -> dict:
    """Ultralytics callbacks that report each finished epoch with its validation mAP50."""

    def epoch_end(trainer) -> None:
        if trainer.epoch >= trainer.epochs:  # Ultralytics' extra call for the final validation
            return
        map50 = trainer.metrics.get("metrics/mAP50(B)")
        note = f"epoch {trainer.epoch + 1}/{trainer.epochs}" + (
            f", mAP50 {map50:.3f}" if map50 is not None else ""
        )
        report(context, trainer.epoch + 1, trainer.epochs, note)

    return {"on_fit_epoch_end": [epoch_end]}
