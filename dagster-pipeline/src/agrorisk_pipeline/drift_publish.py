"""Publish the latest drift verdict and its Evidently HTML where the backend reads them: the shared
bucket of the registry's object store (`agrorisk_common.drift_summary`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agrorisk_common.drift_summary import REPORT_KEY, SUMMARY_KEY, DriftSummary
from agrorisk_pipeline.drift import DriftResult


def drift_summary(result: DriftResult, run_id: str, reference_model_version: str | None) -> DriftSummary:
    return DriftSummary(
        status=result.status, dataset_drift=result.dataset_drift, drifted_share=result.drifted_share,
        drift_share=result.drift_share, drifted_columns=result.drifted_columns,
        columns=[c.column for c in result.columns], n_reference=result.n_reference,
        n_current=result.n_current, outputs_skipped=result.outputs_skipped,
        reference_model_version=reference_model_version, run_id=run_id, created_at=datetime.now(UTC),
        has_report=bool(result.html_path),
    )  # fmt: skip


def publish_drift(store, summary: DriftSummary, html: Path | None) -> str:
    """Write the HTML (when there is one), then the summary that announces it, into `store` (an
    agrorisk_storage object store); returns where, for the run's metadata."""
    if html is not None:
        store.put_file(REPORT_KEY, html)
    store.put_bytes(SUMMARY_KEY, summary.model_dump_json(indent=2).encode())
    return f"{store.location}: {SUMMARY_KEY}"
