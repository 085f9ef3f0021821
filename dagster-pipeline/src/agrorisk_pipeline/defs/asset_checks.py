"""Asset checks: dataset quality, the model quality gate, drift."""

import dagster as dg

from agrorisk_pipeline.defs.assets.data_assets import dataset_version
from agrorisk_pipeline.defs.assets.drift_assets import drift_report
from agrorisk_pipeline.defs.assets.model_assets import evaluation
from agrorisk_pipeline.defs.resources import FlowResource
from agrorisk_pipeline.defs.upstream import latest_metadata

MAX_IMBALANCE = 5.0


@dg.asset_check(
    asset=dataset_version, description="class balance, empty/invalid labels, leakage between splits"
)
def dataset_quality(flow: FlowResource) -> dg.AssetCheckResult:
    from agrorisk_pipeline.quality import check_dataset

    quality = check_dataset(flow.work / "dataset" / "data.yaml")
    problems = quality.problems(MAX_IMBALANCE)
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "balanced, every label valid, no photo in two splits",
        metadata={
            "class_images": dg.MetadataValue.json(quality.class_images),
            "split_images": dg.MetadataValue.json(quality.split_images),
            "imbalance_ratio": quality.imbalance_ratio,
            "invalid_labels": len(quality.invalid_labels) + len(quality.missing_labels),
            "negatives": len(quality.negatives),
            "leaked_images": len(quality.leaked_images),
        },
    )


@dg.asset_check(asset=evaluation, description="candidate test mAP50 beats production by more than the margin")
def model_quality_gate(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    result = latest_metadata(context, "evaluation")
    return dg.AssetCheckResult(
        passed=bool(result["gate_passed"]),
        severity=dg.AssetCheckSeverity.ERROR,
        description=result["gate_reason"],
        metadata={k: result[k] for k in ("candidate", "production", "candidate_map50", "production_map50")},
    )


@dg.asset_check(asset=drift_report, description="no dataset drift of inputs or outputs")
def no_drift(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    result = latest_metadata(context, "drift_report")
    return dg.AssetCheckResult(
        passed=not result["dataset_drift"],
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{result['status']}: drifted columns {result['drifted_columns'] or 'none'}",
        metadata={
            "drifted_share": result["drifted_share"],
            "drifted_columns": dg.MetadataValue.json(result["drifted_columns"]),
            "report": dg.MetadataValue.path(result["report"]),
        },
    )
