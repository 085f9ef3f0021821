"""Score a trained model on a labelled split in the shared report format, so YOLO and Gemini
reports compare directly (`agrorisk_common.evaluation`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_common.evaluation import EvaluationReport, evaluate, load_yolo_ground_truth
from agrorisk_train import offline
from agrorisk_train.datasets import risk_ids
from agrorisk_train.settings import TrainSettings
from agrorisk_train.weights import resolve_device

log = logging.getLogger(__name__)


def predict_images(
    weights: str | Path,
    images: Iterable[str],
    settings: TrainSettings,
    *,
    imgsz: int,
    conf: float,
    model_version: str | None = None,
) -> dict[str, Prediction]:
    """One `Prediction` per image path from a .pt or .onnx model; class names are risk ids."""
    offline.ultralytics_settings(settings.project_dir, settings.config_dir)
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    device = resolve_device(settings.device)
    predictions: dict[str, Prediction] = {}
    for image in images:
        (result,) = model.predict(image, imgsz=imgsz, conf=conf, device=device, verbose=False)
        names = result.names
        height, width = result.orig_shape
        detections = [
            Detection(risk_id=names[int(c)], class_index=int(c), confidence=float(p), box=Box.clipped(*xyxy))
            for xyxy, c, p in zip(
                result.boxes.xyxyn.tolist(),
                result.boxes.cls.tolist(),
                result.boxes.conf.tolist(),
                strict=True,
            )
            if xyxy[2] > xyxy[0] and xyxy[3] > xyxy[1]
        ]
        predictions[image] = Prediction(
            source="yolo",
            detections=detections,
            model_version=model_version,
            latency_ms=sum(v for v in result.speed.values() if v is not None),
            image_width=width,
            image_height=height,
        )
    return predictions


def evaluate_model(
    weights: str | Path,
    data_yaml: str | Path,
    settings: TrainSettings,
    *,
    split: str = "val",
    imgsz: int | None = None,
    conf: float = 0.25,
    iou_threshold: float = 0.5,
    model_version: str | None = None,
    out_dir: str | Path | None = None,
) -> EvaluationReport:
    """Evaluate `weights` on one split of `data_yaml`; with `out_dir`, also write report-yolo.json/.md."""
    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f"weights not found: {weights}")
    ground_truth = load_yolo_ground_truth(data_yaml, split)
    if not ground_truth:
        raise ValueError(f"{data_yaml}: split '{split}' has no images")
    predictions = predict_images(
        weights,
        ground_truth,
        settings,
        imgsz=imgsz or settings.imgsz,
        conf=conf,
        model_version=model_version,
    )
    report = evaluate(
        ground_truth,
        predictions,
        risk_ids(data_yaml),
        iou_threshold=iou_threshold,
        source="yolo",
        dataset=f"{data_yaml}:{split}",
    )
    if out_dir is not None:
        json_path, _ = report.write(out_dir, stem="report-yolo")
        log.info("evaluation report: %s (mAP50 %.3f)", json_path, report.map50)
    return report
