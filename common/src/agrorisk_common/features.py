"""Features of an input image and of a prediction: what the backend logs and drift detection compares.

Computed on a fixed-size thumbnail so the cost does not grow with the photo and features of
large and small photos stay comparable.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from agrorisk_common.detection import Prediction

THUMBNAIL = 256
HUE_BINS = 8


def image_features(image: Image.Image, size: tuple[int, int] | None = None) -> dict[str, float]:
    """Brightness, contrast, saturation, sharpness, size, aspect ratio and a hue histogram (fractions).

    `size` is the photo's own size when `image` is a reduced decode of it."""
    width, height = size or image.size
    thumb = image.convert("RGB")
    thumb.thumbnail((THUMBNAIL, THUMBNAIL))
    gray = np.asarray(thumb.convert("L"), dtype=np.float32) / 255.0
    hsv = np.asarray(thumb.convert("HSV"), dtype=np.float32) / 255.0
    laplacian = (
        gray[1:-1, :-2] + gray[1:-1, 2:] + gray[:-2, 1:-1] + gray[2:, 1:-1] - 4 * gray[1:-1, 1:-1]
        if min(gray.shape) >= 3
        else np.zeros(1, dtype=np.float32)
    )
    hue_hist, _ = np.histogram(hsv[..., 0], bins=HUE_BINS, range=(0.0, 1.0), weights=hsv[..., 1])
    total = hue_hist.sum()
    hue_hist = hue_hist / total if total > 0 else np.zeros(HUE_BINS)
    features = {
        "brightness": float(gray.mean()),
        "contrast": float(gray.std()),
        "saturation": float(hsv[..., 1].mean()),
        "sharpness": float(laplacian.var() * 1000.0),
        "width": float(width),
        "height": float(height),
        "aspect_ratio": float(width / height) if height else 0.0,
    }
    features.update({f"hue_{i}": float(v) for i, v in enumerate(hue_hist)})
    return features


def prediction_features(prediction: Prediction) -> dict[str, float | str]:
    """Output features of one prediction: top risk, box count, confidence and box area statistics."""
    dets = prediction.detections
    top = max(dets, key=lambda d: d.confidence) if dets else None
    return {
        "top_risk": top.risk_id if top else "none",
        "n_boxes": float(len(dets)),
        "max_confidence": float(top.confidence) if top else 0.0,
        "mean_confidence": float(np.mean([d.confidence for d in dets])) if dets else 0.0,
        "mean_box_area": float(np.mean([d.box.area for d in dets])) if dets else 0.0,
    }
