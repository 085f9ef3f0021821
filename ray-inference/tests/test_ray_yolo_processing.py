"""Letterbox, YOLO head decoding and NMS map model outputs back onto the original image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from agrorisk_ray.yolo_processing import PAD_VALUE, decode_head, letterbox, nms


def head(
    rows: list[tuple[float, float, float, float, int, float]], nc: int = 3, anchors: int = 10
) -> np.ndarray:
    """A raw head [4 + nc, anchors] with the given (cx, cy, w, h, class, score) rows, the rest empty."""
    out = np.zeros((4 + nc, anchors), dtype=np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[:4, i] = (cx, cy, w, h)
        out[4 + cls, i] = score
    return out


def test_letterbox_keeps_aspect_and_pads_evenly():
    tensor, box = letterbox(Image.new("RGB", (200, 100), (255, 0, 0)), 64)
    assert tensor.shape == (3, 64, 64) and tensor.dtype == np.float32
    assert (box.scale, box.pad_x, box.pad_y) == (0.32, 0, 16)
    assert tensor[0, 16:48, :].min() == pytest.approx(1.0)  # the image band is red
    assert tensor[0, :16, :].max() == pytest.approx(PAD_VALUE / 255)  # grey padding above it


def test_decoded_box_lands_on_the_original_image():
    _, box = letterbox(Image.new("RGB", (200, 100)), 64)
    # A box covering the left half of the image band: x 0..32, y 16..48 in the 64 px input.
    detections = decode_head(head([(16, 32, 32, 32, 2, 0.9)]), box, 0.25, 0.45, 100)
    assert len(detections) == 1
    d = detections[0]
    assert (d.class_index, d.confidence) == (2, pytest.approx(0.9))
    assert (d.x1, d.y1, d.x2, d.y2) == pytest.approx((0.0, 0.0, 0.5, 1.0), abs=1e-6)


def test_nms_is_per_class_and_thresholds_apply():
    _, box = letterbox(Image.new("RGB", (64, 64)), 64)
    rows = [
        (20, 20, 20, 20, 0, 0.9),
        (21, 21, 20, 20, 0, 0.8),  # overlaps the first, same class: suppressed
        (21, 21, 20, 20, 1, 0.7),  # same place, other class: kept
        (50, 50, 10, 10, 0, 0.1),  # below the confidence threshold
    ]
    detections = decode_head(head(rows), box, 0.25, 0.45, 100)
    assert sorted((d.class_index, round(d.confidence, 2)) for d in detections) == [(0, 0.9), (1, 0.7)]
    assert len(decode_head(head(rows), box, 0.25, 0.45, max_detections=1)) == 1


def test_nms_keeps_disjoint_boxes_best_first():
    boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [1, 1, 10, 10]], dtype=np.float32)
    assert nms(boxes, np.array([0.5, 0.9, 0.6]), 0.5).tolist() == [1, 2]
