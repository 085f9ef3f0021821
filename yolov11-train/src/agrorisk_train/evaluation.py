"""Score a trained model on a labelled split with the one standard evaluator
(`agrorisk_common.evaluation`). mAP: pycocotools over the detections `yolo val` itself makes (its
letterboxing, batching and multi-label NMS down to conf 0.001, read from its COCO JSON), so the
numbers are the ones a practitioner gets from Ultralytics' COCO evaluation. P/R/F1, latency and cost:
the serving path's answers (`predict` at the server's confidence and NMS thresholds)."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PIL import Image

from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_common.evaluation import (
    MAP_CONF,
    MAP_NMS_IOU,
    MAX_DET,
    OPERATING_CONF,
    OPERATING_NMS_IOU,
    EvaluationReport,
    Thresholds,
    evaluate,
)
from agrorisk_common.yolo_data import dataset_risk_ids, load_yolo_ground_truth, split_images
from agrorisk_train import offline
from agrorisk_train.datasets import absolute_data_yaml
from agrorisk_train.settings import TrainSettings
from agrorisk_train.weights import resolve_device

if TYPE_CHECKING:
    from ultralytics.engine.results import Results

log = logging.getLogger(__name__)
BATCH = 16


def predict_images(
    weights: str | Path,
    images: Iterable[str],
    settings: TrainSettings,
    *,
    imgsz: int,
    conf: float,
    nms_iou: float = MAP_NMS_IOU,
    max_det: int = MAX_DET,
    model_version: str | None = None,
) -> dict[str, Prediction]:
    """One `Prediction` per image path from a .pt or .onnx model; class names are risk ids. Each
    carries its latency (pre-process + inference + NMS) and its cost at the machine's hourly price."""
    offline.ultralytics_settings(settings.project_dir, settings.config_dir)
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    device = resolve_device(settings.device)
    usd_per_ms = settings.machine_price_per_hour_usd / 3_600_000
    paths = list(images)
    predictions: dict[str, Prediction] = {}
    for start in range(0, len(paths), BATCH):
        chunk = paths[start : start + BATCH]
        results = model.predict(
            chunk, imgsz=imgsz, conf=conf, iou=nms_iou, max_det=max_det, device=device, verbose=False
        )
        for image, result in zip(chunk, cast("list[Results]", results), strict=True):
            names = result.names
            height, width = result.orig_shape
            boxes = result.boxes
            assert boxes is not None  # a detection model's results always carry boxes
            detections = [
                Detection(
                    risk_id=names[int(c)], class_index=int(c), confidence=float(p), box=Box.clipped(*xyxy)
                )
                for xyxy, c, p in zip(
                    boxes.xyxyn.tolist(), boxes.cls.tolist(), boxes.conf.tolist(), strict=True
                )
                if xyxy[2] > xyxy[0] and xyxy[3] > xyxy[1]
            ]
            latency = sum(v for v in result.speed.values() if v is not None)
            predictions[image] = Prediction(
                source="yolo", detections=detections, model_version=model_version, latency_ms=latency,
                cost_usd=latency * usd_per_ms, image_width=width, image_height=height,
            )  # fmt: skip
    return predictions


def ranked_predictions(
    weights: Path, data_yaml: str | Path, split: str, settings: TrainSettings, *, imgsz: int
) -> dict[str, Prediction]:
    """Every detection down to conf 0.001 as `yolo val` makes them (its COCO JSON), per image path."""
    offline.ultralytics_settings(settings.project_dir, settings.config_dir)
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    with tempfile.TemporaryDirectory(prefix="agrorisk-val-") as tmp:
        data = absolute_data_yaml(data_yaml, Path(tmp))
        validator = model.val(
            data=str(data), split=split, imgsz=imgsz, batch=BATCH, conf=MAP_CONF, iou=MAP_NMS_IOU,
            max_det=MAX_DET, device=resolve_device(settings.device), save_json=True, plots=False,
            verbose=False, project=tmp, name="val", exist_ok=True,
        )  # fmt: skip
        records = json.loads((Path(validator.save_dir) / "predictions.json").read_text())
    names = model.names
    by_file: dict[str, list[dict]] = {}
    for record in records:
        by_file.setdefault(record["file_name"], []).append(record)
    predictions = {}
    for image in (str(p) for p in split_images(data_yaml, split)):
        with Image.open(image) as opened:
            width, height = opened.size
        detections = []
        for r in by_file.get(Path(image).name, []):
            x, y, w, h = r["bbox"]
            if w <= 0 or h <= 0:
                continue
            index = int(r["category_id"]) - 1  # Ultralytics numbers a custom set's classes from 1
            box = Box.clipped(x / width, y / height, (x + w) / width, (y + h) / height)
            if box.x2 > box.x1 and box.y2 > box.y1:
                detections.append(
                    Detection(risk_id=names[index], class_index=index, confidence=float(r["score"]), box=box)
                )
        predictions[image] = Prediction(
            source="yolo", detections=detections, image_width=width, image_height=height
        )
    return predictions


def evaluate_model(
    weights: str | Path,
    data_yaml: str | Path,
    settings: TrainSettings,
    *,
    split: str = "val",
    imgsz: int | None = None,
    operating_conf: float = OPERATING_CONF,
    model_version: str | None = None,
    dataset_version: str | None = None,
    out_dir: str | Path | None = None,
) -> EvaluationReport:
    """Evaluate `weights` on one split of `data_yaml`; with `out_dir`, also write report-yolo.json/.md."""
    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f"weights not found: {weights}")
    ground_truth = load_yolo_ground_truth(data_yaml, split)
    if not ground_truth:
        raise ValueError(f"{data_yaml}: split '{split}' has no images")
    imgsz = imgsz or settings.imgsz
    ranked = ranked_predictions(weights, data_yaml, split, settings, imgsz=imgsz)
    served = predict_images(
        weights, ground_truth, settings, imgsz=imgsz, conf=operating_conf, nms_iou=OPERATING_NMS_IOU,
        model_version=model_version,
    )  # fmt: skip
    device = resolve_device(settings.device)
    report = evaluate(
        ground_truth,
        ranked,
        dataset_risk_ids(data_yaml),
        operating=served,
        thresholds=Thresholds(
            map_conf=MAP_CONF,
            nms_iou=MAP_NMS_IOU,
            operating_conf=operating_conf,
            operating_nms_iou=OPERATING_NMS_IOU,
            imgsz=imgsz,
        ),  # fmt: skip
        source="yolo",
        dataset=f"{Path(data_yaml).parent.name}:{split}",
        dataset_version=dataset_version,
        model_version=model_version,
        cost_basis=f"measured {device} time × ${settings.machine_price_per_hour_usd}/h",
    )
    if out_dir is not None:
        json_path, _ = report.write(out_dir, stem="report-yolo")
        log.info("evaluation report: %s (mAP50 %.3f)", json_path, report.map50 or 0.0)
    return report
