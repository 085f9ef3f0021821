"""Drawn photos: a green 'leaf' with one coloured lesion per class, for benchmarks and smoke models."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

LEAF = (46, 125, 50)
LESION_COLOURS = ((150, 40, 30), (230, 210, 60), (240, 240, 240), (90, 60, 30), (30, 30, 30), (200, 120, 200))


def draw_sample(
    class_index: int, rng: np.random.Generator, size: tuple[int, int] = (96, 80)
) -> tuple[Image.Image, tuple]:
    """A green 'leaf' with one coloured lesion of the class; returns the image and the YOLO (cx, cy, w, h)."""
    width, height = size
    image = Image.new("RGB", size, LEAF)
    draw = ImageDraw.Draw(image)
    w, h = int(rng.integers(width // 4, width // 2)), int(rng.integers(height // 4, height // 2))
    x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
    draw.ellipse([x, y, x + w, y + h], fill=LESION_COLOURS[class_index % len(LESION_COLOURS)])
    return image, ((x + w / 2) / width, (y + h / 2) / height, w / width, h / height)


def drawn_jpegs(sizes: Sequence[tuple[int, int]], seed: int = 0) -> list[bytes]:
    """One drawn leaf per size as a JPEG (quality 90), the lesion's class cycling with the index."""
    rng = np.random.default_rng(seed)
    jpegs = []
    for i, size in enumerate(sizes):
        buffer = io.BytesIO()
        draw_sample(i, rng, size)[0].save(buffer, format="JPEG", quality=90)
        jpegs.append(buffer.getvalue())
    return jpegs
