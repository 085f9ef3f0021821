"""Input features of one photo, logged with every prediction and compared by the drift monitor.

The Dagster drift asset computes the same features for its reference data with this function, so
the logged and the reference values are comparable by construction.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

FEATURE_NAMES = (
    "brightness",
    "contrast",
    "saturation",
    "sharpness",
    "width",
    "height",
    "aspect",
    "mean_red",
    "mean_green",
    "mean_blue",
)
# Sharpness depends on resolution: measure it on a copy whose longer side is this many pixels.
_SHARPNESS_SIDE = 512


def image_features(image: Image.Image) -> dict[str, float]:
    """Brightness, contrast, saturation (0..1), sharpness (Laplacian variance at 512 px), width,
    height, aspect (width / height) and the mean of each colour channel (0..1)."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    pixels = np.asarray(rgb, dtype=np.float32) / 255.0
    gray = np.asarray(rgb.convert("L"), dtype=np.float32) / 255.0
    saturation = np.asarray(rgb.convert("HSV"), dtype=np.float32)[..., 1] / 255.0
    means = pixels.reshape(-1, 3).mean(axis=0)
    return {
        "brightness": float(gray.mean()),
        "contrast": float(gray.std()),
        "saturation": float(saturation.mean()),
        "sharpness": _sharpness(rgb),
        "width": float(width),
        "height": float(height),
        "aspect": float(width / height),
        "mean_red": float(means[0]),
        "mean_green": float(means[1]),
        "mean_blue": float(means[2]),
    }


def _sharpness(image: Image.Image) -> float:
    """Variance of the Laplacian of the grey image (0..255) scaled to a fixed size: low when blurred."""
    scale = _SHARPNESS_SIDE / max(image.size)
    small = image.convert("L")
    if scale < 1:
        small = small.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    g = np.asarray(small, dtype=np.float32)
    if min(g.shape) < 3:
        return 0.0
    laplacian = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(laplacian.var())
