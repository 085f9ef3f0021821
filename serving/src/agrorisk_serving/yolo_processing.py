"""YOLO pre- and post-processing: letterbox (OpenCV), head decoding and NMS (numpy).

Self-contained (numpy, OpenCV and Pillow only) on purpose: the Triton model-repository generator
copies this file into the Python-backend model, so the same code runs in-process, in Ray Serve and
in Triton.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

PAD_VALUE = 114
SCALE = np.float32(1 / 255)


@dataclass(frozen=True)
class Letterbox:
    """How one image was fitted into the square model input: scale, then padding."""

    scale: float
    pad_x: int
    pad_y: int
    width: int
    height: int


@dataclass(frozen=True)
class RawDetection:
    """A kept detection: normalised xyxy in the original image, confidence and class index."""

    x1: float
    y1: float
    x2: float
    y2: float
    confidence: float
    class_index: int


def letterbox_batch(images: Sequence[Image.Image], size: int) -> tuple[np.ndarray, list[Letterbox]]:
    """Images -> one float32 NCHW batch in 0..1, each resized keeping aspect and padded to size x size.

    The uint8 pixels are resized straight into a padded canvas; one pass per image then writes the
    float32 planes, so no whole-canvas float array is made and thrown away.
    """
    batch = np.empty((len(images), 3, size, size), dtype=np.float32)
    canvas = np.empty((size, size, 3), dtype=np.uint8)
    boxes = []
    for planes, image in zip(batch, images, strict=True):
        boxes.append(_fit(image, canvas))
        for plane, channel in zip(planes, cv2.split(canvas), strict=True):
            np.multiply(channel, SCALE, out=plane)
    return batch, boxes


def _fit(image: Image.Image, canvas: np.ndarray) -> Letterbox:
    """Resize `image` into the middle of `canvas` (size x size x 3, uint8) and pad the rest."""
    size = canvas.shape[0]
    width, height = image.size
    scale = min(size / width, size / height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    canvas.fill(PAD_VALUE)
    if scale < 0.5:  # Pillow's integer box reduction first: fewer pixels to copy out of Pillow
        image = image.reduce(int(1 / scale))
    pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    inside = canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w]
    if pixels.shape[:2] == (new_h, new_w):
        inside[...] = pixels
    else:  # area averaging when shrinking, linear when enlarging (as Ultralytics' data loader)
        interpolation = cv2.INTER_AREA if new_w < pixels.shape[1] else cv2.INTER_LINEAR
        cv2.resize(pixels, (new_w, new_h), dst=inside, interpolation=interpolation)
    return Letterbox(scale, pad_x, pad_y, width, height)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes (xyxy) kept by greedy non-maximum suppression, best score first."""
    order = scores.argsort()[::-1]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        ix1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        iy1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        ix2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        iy2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
        union = areas[best] + areas[rest] - inter
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[overlap <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_head(
    output: np.ndarray,
    box: Letterbox,
    conf_threshold: float,
    iou_threshold: float,
    max_detections: int,
) -> list[RawDetection]:
    """One image's raw YOLO head [4 + nc, anchors] (cx, cy, w, h in input pixels, then class
    scores) -> class-aware NMS'd detections in normalised xyxy of the original image."""
    predictions = output.T
    class_scores = predictions[:, 4:]
    classes = class_scores.argmax(axis=1)
    confidences = class_scores[np.arange(len(classes)), classes]
    mask = confidences >= conf_threshold
    if not mask.any():
        return []
    cxcywh, confidences, classes = predictions[mask, :4], confidences[mask], classes[mask]
    xyxy = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1)
    # Offset boxes per class so NMS never suppresses across classes.
    offsets = classes[:, None].astype(np.float32) * (xyxy.max() + 1.0)
    keep = nms(xyxy + offsets, confidences, iou_threshold)[:max_detections]
    xyxy = xyxy[keep]
    xyxy[:, [0, 2]] = (xyxy[:, [0, 2]] - box.pad_x) / box.scale / box.width
    xyxy[:, [1, 3]] = (xyxy[:, [1, 3]] - box.pad_y) / box.scale / box.height
    xyxy = np.clip(xyxy, 0.0, 1.0)
    return [
        RawDetection(float(x1), float(y1), float(x2), float(y2), float(confidences[i]), int(classes[i]))
        for (x1, y1, x2, y2), i in zip(xyxy, keep, strict=True)
        if x2 > x1 and y2 > y1
    ]
