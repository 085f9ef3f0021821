"""The latest drift verdict, as the pipeline publishes it and the backend and the UI show it.

The pipeline's `drift_report` asset writes `drift/latest.json` (a `DriftSummary`) and Evidently's
HTML `drift/latest.html` into the shared bucket of the registry's object store
(`agrorisk_storage.open_store`); the backend reads them back for `GET /v1/drift`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SUMMARY_KEY = "drift/latest.json"
REPORT_KEY = "drift/latest.html"


class DriftSummary(BaseModel):
    """One drift run: the verdict, what drifted, and what was compared with what."""

    status: Literal["ok", "drift", "insufficient_data"]
    dataset_drift: bool
    drifted_share: float = Field(description="share of the compared features that drifted")
    drift_share: float = Field(description="share at which the whole data set counts as drifted")
    drifted_columns: list[str] = Field(description="the features that drifted, e.g. brightness, n_boxes")
    columns: list[str] = Field(description="every feature compared")
    n_reference: int
    n_current: int
    outputs_skipped: str | None = Field(
        default=None, description="why the model's outputs were not compared (inputs only), if so"
    )
    reference_model_version: str | None = None
    run_id: str = Field(description="the Dagster run that made the report")
    created_at: datetime
    has_report: bool = Field(description="whether Evidently's HTML report was published beside it")
