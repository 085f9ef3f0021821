"""A drift verdict and report as the pipeline's drift_report asset publishes them, for tests of the
backend and the UI that read them (`agrorisk_common.drift_summary`)."""

from __future__ import annotations

from datetime import UTC, datetime

from agrorisk_common.drift_summary import REPORT_KEY, SUMMARY_KEY, DriftSummary
from agrorisk_common.settings import SHARED_BUCKET
from agrorisk_storage import StorageSettings, open_store


def publish_drift(
    storage: StorageSettings, html: bytes | None = b"<html><title>Evidently</title></html>"
) -> None:
    """Brightness and box counts drifted; the HTML report beside it unless `html` is None."""
    store = open_store(storage, SHARED_BUCKET)
    if html is not None:
        store.put_bytes(REPORT_KEY, html)
    summary = DriftSummary(
        status="drift", dataset_drift=True, drifted_share=0.5, drift_share=0.3,
        drifted_columns=["brightness", "n_boxes"], columns=["brightness", "sharpness", "n_boxes", "top_risk"],
        n_reference=40, n_current=40, reference_model_version="v1", run_id="run-1",
        created_at=datetime.now(UTC), has_report=html is not None,
    )  # fmt: skip
    store.put_bytes(SUMMARY_KEY, summary.model_dump_json().encode())
