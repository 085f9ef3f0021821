"""Drift of inputs and outputs: the production model's reference predictions vs the prediction log."""

from pathlib import Path

import dagster as dg

from agrorisk_pipeline.defs.assets.inference_assets import batch_inference
from agrorisk_pipeline.defs.resources import FlowResource, RegistryResource
from agrorisk_pipeline.defs.upstream import latest_metadata

GROUP = "monitoring"


@dg.asset(group_name=GROUP, deps=[batch_inference], kinds={"evidently"})
def drift_report(
    context: dg.AssetExecutionContext, flow: FlowResource, registry: RegistryResource
) -> dg.MaterializeResult:
    """Evidently drift report: per-feature drift and the dataset-drift verdict; HTML linked here and
    published to the shared bucket, where the backend (`GET /v1/drift`) and the UI's Models tab read it.
    Output features are compared only when the live answers come from the reference's model version
    and serving settings; otherwise the report says why and compares the input features alone."""
    from agrorisk_common.prediction_log import LOCAL_SOURCES, read_records
    from agrorisk_pipeline.drift import comparable_records, compute_drift, read_reference_info, records_frame
    from agrorisk_pipeline.drift_publish import drift_summary, publish_drift
    from agrorisk_pipeline.metrics_push import push_drift
    from agrorisk_pipeline.shared_store import mirror_if_shared
    from agrorisk_storage import open_store

    settings, storage = flow.settings(), registry.storage_settings()
    mirror_if_shared(settings, storage)
    reference_file = Path(latest_metadata(context, "batch_inference")["reference"])
    reference = records_frame(read_records([reference_file]))
    # The reference is the production model's answers: compare the local model's logged answers with it.
    info = read_reference_info(reference_file)
    records, skipped = comparable_records(
        info,
        settings.serving_params,
        list(read_records(settings.prediction_log_dir, limit=settings.drift_window, sources=LOCAL_SOURCES)),
        settings.drift_min_rows,
    )
    if skipped:
        context.log.warning("output features not compared: %s", skipped)
    result = compute_drift(
        reference, records_frame(records), drift_share=settings.drift_share, min_rows=settings.drift_min_rows,
        out_dir=settings.work_dir / "drift" / context.run.run_id, outputs_skipped=skipped,
    )  # fmt: skip
    context.log.info("drift %s: %s drifted of %d (report %s)", result.status, result.drifted_columns,
                     len(result.columns), result.html_path)  # fmt: skip
    if settings.pushgateway_url:
        push_drift(settings.pushgateway_url, result)
    summary = drift_summary(result, context.run.run_id, info.model_version if info else None)
    html = Path(result.html_path) if result.html_path else None
    published = publish_drift(open_store(storage, settings.shared_bucket), summary, html)
    return dg.MaterializeResult(
        metadata={
            "status": result.status,
            "dataset_drift": result.dataset_drift,
            "drifted_share": result.drifted_share,
            "drifted_columns": dg.MetadataValue.json(result.drifted_columns),
            "outputs": "compared" if skipped is None else f"not compared: {skipped}",
            "reference_model_version": info.model_version if info else "",
            "reference_settings": info.serving.describe() if info else "not recorded",
            "n_reference": result.n_reference,
            "n_current": result.n_current,
            "seconds": result.seconds,
            "columns": dg.MetadataValue.md(result.to_markdown()),
            "report": dg.MetadataValue.path(result.html_path or ""),
            "summary": dg.MetadataValue.path(result.summary_path or ""),
            "published": published,  # what GET /v1/drift and the UI's Models tab show
        }
    )
