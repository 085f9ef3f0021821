"""Drift of inputs (image features) and outputs (prediction features) with Evidently, without Dagster.

Reference: the training/validation images and the production model's predictions on them, made by the
serving library's detector with the live server's engine and thresholds (recorded beside the reference).
Current: the latest records of the backend's prediction log. Output features are compared only with
live answers of the reference's model version under the same settings; otherwise only inputs are.
Every column gets Evidently's own drift test (K-S / chi-square for small samples, Wasserstein /
Jensen-Shannon for large ones); the dataset has drifted when the share of drifted columns reaches
`drift_share`.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel

from agrorisk_pipeline.settings import ServingParams

log = logging.getLogger(__name__)

CATEGORICAL = ("top_risk",)
REPORT_HTML = "drift-report.html"
SUMMARY_JSON = "drift-summary.json"


class ColumnDrift(BaseModel):
    column: str
    kind: Literal["input", "output"]
    method: str
    score: float | None
    threshold: float
    drifted: bool


class DriftResult(BaseModel):
    """The verdict: per-column drift and whether the whole dataset drifted."""

    status: Literal["ok", "drift", "insufficient_data"]
    dataset_drift: bool
    drifted_share: float
    drifted_count: int
    drift_share: float
    n_reference: int
    n_current: int
    columns: list[ColumnDrift]
    seconds: float
    outputs_skipped: str | None = None
    html_path: str | None = None
    summary_path: str | None = None

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def to_markdown(self) -> str:
        lines = [
            f"**{self.status}**: {self.drifted_count}/{len(self.columns)} columns drifted "
            f"(share {self.drifted_share:.2f}, threshold {self.drift_share:.2f}); "
            f"reference {self.n_reference} rows, current {self.n_current} rows",
            "",
            *([f"Output features not compared: {self.outputs_skipped}", ""] if self.outputs_skipped else []),
            "| column | kind | method | score | threshold | drifted |",
            "|---|---|---|---:|---:|---|",
        ]
        for c in self.columns:
            score = "" if c.score is None else f"{c.score:.4g}"
            lines.append(f"| {c.column} | {c.kind} | {c.method} | {score} | {c.threshold:g} | {c.drifted} |")
        return "\n".join(lines)


class ReferenceInfo(BaseModel):
    """How a drift reference was predicted: written beside its records as `<name>.json`."""

    model_version: str
    serving: ServingParams
    imgsz: int
    images: int
    dataset_version: str | None = None
    served_by: str = "agrorisk_serving"


def info_path(reference: Path) -> Path:
    return reference.with_suffix(".json")


def read_reference_info(reference: Path) -> ReferenceInfo | None:
    """The reference's recorded settings; None for a reference made before they were recorded."""
    path = info_path(reference)
    return ReferenceInfo.model_validate_json(path.read_text()) if path.is_file() else None


def comparable_records(
    info: ReferenceInfo | None, live: ServingParams, records: Sequence[dict[str, Any]], min_rows: int
) -> tuple[list[dict[str, Any]], str | None]:
    """The live records to compare and, when their output features are not comparable with the
    reference's, why: no recorded settings, other engine/thresholds, or too few answers of the
    reference's model version (then every record is kept, for the input features)."""
    records = list(records)
    if info is None:
        return records, "the reference records no serving settings (made before they were recorded)"
    if info.serving != live:
        return records, (
            f"the reference was predicted with {info.serving.describe()}, the live server uses "
            f"{live.describe()}"
        )
    same = [r for r in records if r.get("model_version") == info.model_version]
    if len(same) < min(min_rows, len(records)):
        versions = dict(Counter(str(r.get("model_version")) for r in records).most_common())
        return (
            records,
            f"the live answers are of model versions {versions}, the reference of {info.model_version}",
        )
    return same, None


def records_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per logged prediction: image feature columns, then output feature columns."""
    rows = [{**r["features"], **r["outputs"]} for r in records]
    frame = pd.DataFrame(rows)
    if "top_risk" in frame:
        frame["top_risk"] = frame["top_risk"].astype(str)
    return frame


def output_columns() -> list[str]:
    """Names of the output features (what `prediction_features` returns)."""
    from agrorisk_common.detection import Prediction
    from agrorisk_common.features import prediction_features

    return list(prediction_features(Prediction(source="probe", detections=[])))


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    drift_share: float = 0.3,
    min_rows: int = 30,
    out_dir: Path | None = None,
    outputs_skipped: str | None = None,
) -> DriftResult:
    """Evidently's DataDriftPreset over the columns both frames share; HTML + JSON written to `out_dir`.
    With `outputs_skipped` (why), the output features are left out and the reason is recorded."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    started = time.perf_counter()
    outputs = set(output_columns())
    if outputs_skipped:
        current = current.drop(columns=[c for c in current.columns if c in outputs])
    if len(reference) < min_rows or len(current) < min_rows:
        log.warning(
            "drift: %d reference / %d current rows, need %d each", len(reference), len(current), min_rows
        )
        return _result(
            "insufficient_data", [], drift_share, reference, current, started, out_dir, None, outputs_skipped
        )

    shared = [c for c in reference.columns if c in current.columns]
    if not shared:
        raise ValueError("reference and current data have no feature columns in common")
    categorical = [c for c in shared if c in CATEGORICAL]
    numerical = [c for c in shared if c not in CATEGORICAL]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Evidently warns on constant columns; their drift is then 0
        snapshot = Report([DataDriftPreset(drift_share=drift_share)], include_tests=True).run(
            current_data=Dataset.from_pandas(current.filter(items=shared), data_definition=definition),
            reference_data=Dataset.from_pandas(reference.filter(items=shared), data_definition=definition),
        )
    columns = _column_drift(snapshot.dict(), outputs)
    result = _result(
        "ok", columns, drift_share, reference, current, started, out_dir, snapshot, outputs_skipped
    )
    log.info("drift: %s, drifted columns %s", result.status, result.drifted_columns or "none")
    return result


def _column_drift(report: dict[str, Any], outputs: set[str]) -> list[ColumnDrift]:
    """Per-column drift from the snapshot: the metric's score and its test's pass/fail."""
    failed = {
        t["metric_config"]["metric_id"]
        for t in report.get("tests", [])
        if str(getattr(t["status"], "value", t["status"])) == "FAIL"
    }
    columns = []
    for metric in report["metrics"]:
        config = metric["config"]
        if not config.get("type", "").endswith("ValueDrift"):
            continue
        value = metric["value"]
        columns.append(
            ColumnDrift(
                column=config["column"],
                kind="output" if config["column"] in outputs else "input",
                method=config["method"],
                score=None if value is None else float(value),
                threshold=float(config["threshold"]),
                drifted=metric["id"] in failed,
            )
        )
    return columns


def _result(
    status, columns, drift_share, reference, current, started, out_dir, snapshot, outputs_skipped
) -> DriftResult:
    drifted = sum(c.drifted for c in columns)
    share = drifted / len(columns) if columns else 0.0
    dataset_drift = bool(columns) and share >= drift_share
    result = DriftResult(
        status="drift" if dataset_drift else status,
        dataset_drift=dataset_drift,
        drifted_share=round(share, 4),
        drifted_count=drifted,
        drift_share=drift_share,
        n_reference=len(reference),
        n_current=len(current),
        columns=columns,
        seconds=round(time.perf_counter() - started, 3),
        outputs_skipped=outputs_skipped,
    )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        if snapshot is not None:
            html = out_dir / REPORT_HTML
            snapshot.save_html(str(html))
            result.html_path = str(html.resolve())
        summary = out_dir / SUMMARY_JSON
        result.summary_path = str(summary.resolve())
        summary.write_text(json.dumps(result.model_dump(mode="json"), indent=2))
    return result
