"""The detector's stages timed apart on one photo: decode, letterbox, ONNX Runtime, head decoding + NMS,
and the whole pipeline (decode to Prediction, what every server runs) against the raw ONNX Runtime run.

The photo is re-encoded as a square JPEG (640x640 by default) so runs on different photos compare;
each stage is repeated and reported as median and p95 milliseconds.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from agrorisk_common.images import decode_image
from agrorisk_serving.detector import DetectionParams, OnnxDetector, predict
from agrorisk_serving.drawn import draw_sample
from agrorisk_serving.model_source import ModelVersion
from agrorisk_serving.yolo_processing import decode_head, letterbox_batch


def square_jpeg(photo: Path | None, size: int) -> bytes:
    """`photo` (default: a drawn leaf) resized to size x size and encoded as JPEG, quality 90."""
    image = Image.open(photo).convert("RGB") if photo else draw_sample(0, np.random.default_rng(0))[0]
    buffer = io.BytesIO()
    image.resize((size, size), Image.Resampling.BILINEAR).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _timed(stage: Callable[[], object], repeats: int) -> dict[str, float]:
    stage()  # warm-up: first-call allocations and lazy initialisation
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        stage()
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95))}


def time_stages(
    jpeg: bytes, model: ModelVersion, imgsz: int, repeats: int, params: DetectionParams = DetectionParams()
) -> dict:
    """Median and p95 ms of each stage on `jpeg`, with `model` run at `imgsz` (its ONNX must be dynamic)."""
    detector = OnnxDetector(replace(model, imgsz=imgsz), params)
    image = decode_image(jpeg).image
    batch, boxes = letterbox_batch([image], imgsz)
    head = detector.run_head(batch)
    stages = {
        "decode": _timed(lambda: decode_image(jpeg), repeats),
        "letterbox": _timed(lambda: letterbox_batch([image], imgsz), repeats),
        "onnxruntime": _timed(lambda: detector.run_head(batch), repeats),
        "decode_nms": _timed(
            lambda: decode_head(
                head[0], boxes[0], params.conf_threshold, params.iou_threshold, params.max_detections
            ),
            repeats,
        ),
        "pipeline": _timed(lambda: predict(detector, [decode_image(jpeg).image]), repeats),
    }
    return {
        "photo_size": f"{image.width}x{image.height}",
        "imgsz": imgsz,
        "repeats": repeats,
        **stages,
        "pipeline_over_onnxruntime": stages["pipeline"]["median_ms"] / stages["onnxruntime"]["median_ms"],
    }
