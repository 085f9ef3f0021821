"""Inference assets: batch predictions of the production model (inbox photos, and the reference set
drift compares against) made as the live server makes them, and the active-learning queue for Label
Studio."""

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
from agrorisk_pipeline.settings import ServingParams

GROUP = "inference"


@dg.asset(group_name=GROUP, deps=[production_model], kinds={"pytorch"})
def batch_inference(
    context: dg.AssetExecutionContext,
    flow: FlowResource,
    registry: RegistryResource,
    serving: ServingResource,
) -> dg.MaterializeResult:
    """Predict the inbox photos with the production model into the prediction log (then move them to
    `processed/`), and predict the training/validation images once per model version and serving
    settings: the drift reference. Both go through the serving library's detector with the live
    server's engine and thresholds (`SERVING_ENGINE`, `OPERATING_CONF`, `SERVING_IOU`), or through the
    serving endpoint itself."""
    from agrorisk_common.prediction_log import append_records
    from agrorisk_common.yolo_data import split_images
    from agrorisk_pipeline.batch import detector_records, list_images, load_serving_detector, serve_records
    from agrorisk_pipeline.drift import ReferenceInfo, info_path
    from agrorisk_serving.model_source import ModelSource

    models = registry.models()
    production = models.show("production")
    pipeline = flow.settings()
    params = pipeline.serving_params
    model = ModelSource(models).pull(production.version)  # imgsz and classes as the server reads them
    detector = None if serving.url else load_serving_detector(model, params)

    def predict(images):
        return serve_records(serving.url, images) if detector is None else detector_records(detector, images)

    reference = pipeline.work_dir / "drift" / reference_name(production.version, params)
    if not reference.exists():
        dataset = production.metadata.get("dataset_version")
        _, data_yaml = pulled_dataset(context, registry, flow, ref=dataset)
        images = (split_images(data_yaml, "train") + split_images(data_yaml, "val"))[
            : pipeline.reference_max_images
        ]
        records = predict(images)
        info = ReferenceInfo(
            model_version=production.version, serving=params, imgsz=model.imgsz, images=len(records),
            dataset_version=dataset, served_by=serving.url or "agrorisk_serving",
        )  # fmt: skip
        tmp = reference.with_suffix(".part")
        tmp.unlink(missing_ok=True)
        append_records(tmp, records)
        info_path(reference).write_text(info.model_dump_json(indent=2))
        tmp.replace(reference)
        context.log.info(
            "drift reference: %d images of dataset %s predicted by %s with %s",
            len(records), dataset, production.version, params.describe(),
        )  # fmt: skip
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
            "reference_settings": dg.MetadataValue.json(params.model_dump()),
            "served_by": serving.url or f"agrorisk_serving ({params.describe()})",
        }
    )


def reference_name(version: str, params: ServingParams) -> str:
    """One reference file per model version and serving settings."""
    p = params
    return f"reference-{version}-{p.engine}-conf{p.conf_threshold:g}-iou{p.iou_threshold:g}-max{p.max_detections}.jsonl"


@dg.asset(group_name=GROUP, deps=[risk_catalog], kinds={"labelstudio"})
def active_learning_queue(
    context: dg.AssetExecutionContext,
    flow: FlowResource,
    label_studio: LabelStudioResource,
    registry: RegistryResource,
) -> dg.MaterializeResult:
    """Photos where Gemini and the local model disagree, or that users marked wrong, sent for review
    with both predictions as pre-annotations; reviewed labels reach the next dataset version."""
    from agrorisk_common.prediction_log import read_records
    from agrorisk_pipeline.active_learning import queue_for_review, read_feedback, select_for_review
    from agrorisk_pipeline.shared_store import mirror_if_shared

    settings = flow.settings()
    mirror_if_shared(settings, registry.storage_settings())
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
