"""Jobs: the whole flow, retraining (review → dataset → model → promotion), monitoring."""

import dagster as dg

RETRAIN_ASSETS = (
    "active_learning_queue", "auto_labels", "labeled_dataset", "synthetic_topup", "dataset_version",
    "trained_model", "tuned_params", "candidate_model", "evaluation", "production_model",
)  # fmt: skip
MONITORING_ASSETS = ("batch_inference", "drift_report", "active_learning_queue")

full_flow_job = dg.define_asset_job(
    "full_flow", selection=dg.AssetSelection.all(), description="everything, in order"
)
retrain_job = dg.define_asset_job(
    "retrain",
    selection=dg.AssetSelection.assets(*RETRAIN_ASSETS),
    description="new labels → new model → gate",
)
monitoring_job = dg.define_asset_job(
    "monitoring",
    selection=dg.AssetSelection.assets(*MONITORING_ASSETS),
    description="batch inference + drift",
)
