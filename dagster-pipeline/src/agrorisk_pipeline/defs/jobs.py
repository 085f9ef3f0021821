"""Jobs: the whole flow, training (photos → dataset → fine-tuned candidate → gate → promotion; what
`make demo` runs), retraining (review → dataset → model → promotion), monitoring."""

import dagster as dg

MODEL_ASSETS = (
    "auto_labels", "labeled_dataset", "synthetic_topup", "dataset_version", "starter_model",
    "trained_model", "tuned_params", "candidate_model", "evaluation", "production_model",
)  # fmt: skip
TRAINING_ASSETS = ("risk_catalog", "crawled_images", *MODEL_ASSETS)
RETRAIN_ASSETS = ("active_learning_queue", *MODEL_ASSETS)
MONITORING_ASSETS = ("batch_inference", "drift_report", "active_learning_queue")

full_flow_job = dg.define_asset_job(
    "full_flow", selection=dg.AssetSelection.all(), description="everything, in order"
)
training_job = dg.define_asset_job(
    "training",
    selection=dg.AssetSelection.assets(*TRAINING_ASSETS),
    description="photos → dataset version → fine-tuned candidate → gate → production (make demo)",
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
