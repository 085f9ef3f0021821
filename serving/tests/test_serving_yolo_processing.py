"""Letterbox, YOLO head decoding and NMS map model outputs back onto the original image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agrorisk_serving.yolo_processing import PAD_VALUE, Letterbox, decode_head, letterbox_batch, nms

PLANTDOC = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "plantdoc-cc-by-4.0"


def letterbox(image: Image.Image, size: int) -> tuple[np.ndarray, Letterbox]:
    batch, boxes = letterbox_batch([image], size)
    return batch[0], boxes[0]


def pillow_letterbox(image: Image.Image, size: int) -> np.ndarray:
    """The letterbox this package had before OpenCV: Pillow bilinear resize, then float division."""
    scale = min(size / image.width, size / image.height)
    new_w, new_h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    canvas = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    resized = image.convert("RGB").resize((new_w, new_h), Image.Resampling.BILINEAR)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = np.asarray(resized)
    return canvas.transpose(2, 0, 1).astype(np.float32) / 255.0


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


@pytest.mark.skipif(not PLANTDOC.is_dir(), reason=f"real photos not found at {PLANTDOC}")
@pytest.mark.parametrize(
    ("photo_size", "imgsz"),
    [(None, 640), ((640, 640), 640), ((640, 640), 320), ((1600, 1200), 640), ((300, 500), 320)],
)
def test_letterbox_matches_the_former_pillow_letterbox_on_a_real_photo(photo_size, imgsz):
    photo = Image.open(sorted((PLANTDOC / "images").glob("*.jpg"))[0]).convert("RGB")
    if photo_size:
        photo = photo.resize(photo_size, Image.Resampling.BICUBIC)
    tensor, box = letterbox(photo, imgsz)
    difference = np.abs(tensor - pillow_letterbox(photo, imgsz)) * 255  # in pixel levels
    assert difference.mean() < 2.0
    assert np.percentile(difference, 99) <= 8.0
    scale = min(imgsz / photo.width, imgsz / photo.height)
    assert (box.scale, box.width, box.height) == (scale, photo.width, photo.height)


def test_a_batch_is_the_images_letterboxed_one_by_one():
    images = [
        Image.new("RGB", (200, 100), (255, 0, 0)),
        Image.new("L", (30, 90), 40),
        Image.new("RGB", (64, 64)),
    ]
    batch, boxes = letterbox_batch(images, 64)
    assert batch.shape == (3, 3, 64, 64) and batch.dtype == np.float32
    for image, tensor, box in zip(images, batch, boxes, strict=True):
        alone, alone_box = letterbox(image, 64)
        assert np.array_equal(tensor, alone) and box == alone_box
    assert batch[1, :, 32, 32] == pytest.approx([40 / 255] * 3)  # grey stays grey in RGB


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
