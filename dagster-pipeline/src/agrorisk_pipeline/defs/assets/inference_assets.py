"""Inference assets: batch predictions of the production model (inbox photos, and the reference set
drift compares against) and the active-learning queue for Label Studio."""

import shutil
from datetime import UTC, datetime

import dagster as dg

from agrorisk_pipeline.defs.assets.data_assets import risk_catalog
from agrorisk_pipeline.defs.assets.model_assets import production_model
from agrorisk_pipeline.defs.resources import (
    FlowResource,
    LabelStudioResource,
    RegistryResource,
    ServingResource,
)
from agrorisk_pipeline.defs.upstream import pulled_dataset

GROUP = "inference"


@dg.asset(group_name=GROUP, deps=[production_model], kinds={"pytorch"})
def batch_inference(
    context: dg.AssetExecutionContext,
    flow: FlowResource,
    registry: RegistryResource,
    serving: ServingResource,
) -> dg.MaterializeResult:
    """Predict the inbox photos with the production model into the prediction log (then move them to
    `processed/`), and predict the training/validation images once per model version: the drift reference."""
    from agrorisk_common.prediction_log import append_records
    from agrorisk_common.yolo_data import split_images
    from agrorisk_pipeline.batch import list_images, predict_records, serve_records

    models = registry.models()
    production = models.show("production")
    weights = models.pull(production.version) / "best.pt"
    pipeline = flow.settings()
    imgsz = int(production.metadata.get("imgsz") or pipeline.imgsz)
    settings = flow.train_settings()

    def predict(images):
        if serving.url:
            return serve_records(serving.url, images)
        return predict_records(
            weights,
            images,
            settings,
            imgsz=imgsz,
            conf=pipeline.operating_conf,
            model_version=production.version,
        )

    reference = pipeline.work_dir / "drift" / f"reference-{production.version}.jsonl"
    if not reference.exists():
        dataset = production.metadata.get("dataset_version")
        _, data_yaml = pulled_dataset(context, registry, flow, ref=dataset)
        images = (split_images(data_yaml, "train") + split_images(data_yaml, "val"))[
            : pipeline.reference_max_images
        ]
        tmp = reference.with_suffix(".part")
        tmp.unlink(missing_ok=True)
        append_records(tmp, predict(images))
        tmp.replace(reference)
        context.log.info(
            "drift reference: %d images of dataset %s predicted by %s",
            len(images),
            dataset,
            production.version,
        )
    inbox = list_images(pipeline.inbox_dir, recursive=False)
    now = datetime.now(UTC)
    log_file = pipeline.prediction_log_dir / f"{now:%Y-%m-%d}.jsonl"
    written = append_records(log_file, predict(inbox)) if inbox else 0
    done = pipeline.inbox_dir / "processed" / f"{now:%Y%m%dT%H%M%S}"
    for image in inbox:
        done.mkdir(parents=True, exist_ok=True)
        shutil.move(image, done / image.name)
    context.log.info(
        "batch inference: %d inbox photos predicted by %s into %s", written, production.version, log_file
    )
    return dg.MaterializeResult(
        metadata={
            "model_version": production.version,
            "inbox_predictions": written,
            "prediction_log": dg.MetadataValue.path(str(log_file.resolve())),
            "reference": dg.MetadataValue.path(str(reference.resolve())),
            "served_by": serving.url or "local weights",
        }
    )


@dg.asset(group_name=GROUP, deps=[risk_catalog], kinds={"labelstudio"})
def active_learning_queue(
    context: dg.AssetExecutionContext, flow: FlowResource, label_studio: LabelStudioResource
) -> dg.MaterializeResult:
    """Photos where Gemini and the local model disagree, or that users marked wrong, sent for review
    with both predictions as pre-annotations; reviewed labels reach the next dataset version."""
    from agrorisk_common.prediction_log import read_records
    from agrorisk_pipeline.active_learning import queue_for_review, read_feedback, select_for_review

    settings = flow.settings()
    records = list(read_records(settings.prediction_log_dir, limit=settings.drift_window))
    items = select_for_review(
        records, read_feedback(settings.feedback_dir), settings.prediction_log_dir, settings.feedback_dir
    )
    result = queue_for_review(
        items, settings.manifest, label_studio.labeling_settings(settings.manifest), settings.risk_ids,
        settings.work_dir / "active-learning",
    )  # fmt: skip
    reasons = {}
    for item in items:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    context.log.info("active learning: %s", result)
    metadata = {k: v for k, v in result.items() if k in ("selected", "new_tasks", "already_queued")}
    if "label_studio" in result:
        metadata["label_studio"] = dg.MetadataValue.url(result["label_studio"])
    if "tasks_file" in result:
        metadata["tasks_file"] = dg.MetadataValue.path(result["tasks_file"])
    return dg.MaterializeResult(metadata=metadata | {"reasons": dg.MetadataValue.json(reasons)})
