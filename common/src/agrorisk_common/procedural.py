"""Procedurally drawn leaves with a lesion pattern per class: test data and the offline demo dataset.

Each class index gets its own lesion look (colour, shape, count, halo), so a small detector can
learn to tell them apart. The lesions are the labelled boxes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from agrorisk_common.detection import Box

_SHAPES = ("ellipse", "stripe", "ring", "speckles")


# Colours that symptoms really have: rust, dark brown, chlorotic yellow, black, grey-white, purple, tan.
_LESION_COLOURS = (
    (176, 84, 30),
    (92, 52, 24),
    (222, 200, 60),
    (30, 26, 22),
    (215, 215, 205),
    (120, 40, 90),
    (196, 160, 110),
)


def _lesion_style(risk_index: int) -> tuple[tuple[int, int, int], str, int]:
    """Colour, shape and count of lesions for one class (deterministic per index)."""
    colour = _LESION_COLOURS[risk_index % len(_LESION_COLOURS)]
    shape = _SHAPES[(risk_index + risk_index // len(_LESION_COLOURS)) % len(_SHAPES)]
    return colour, shape, 1 + risk_index % 3


def draw_leaf(risk_index: int, rng: random.Random, size: int = 128) -> tuple[Image.Image, list[Box]]:
    """One image of a leaf on soil with lesions of class `risk_index`; returns the image and lesion boxes."""
    soil = (rng.randint(95, 135), rng.randint(70, 100), rng.randint(40, 70))
    image = Image.new("RGB", (size, size), soil)  # type: ignore[arg-type]
    draw = ImageDraw.Draw(image)
    cx, cy = size * rng.uniform(0.4, 0.6), size * rng.uniform(0.4, 0.6)
    length, width = size * rng.uniform(0.7, 0.9), size * rng.uniform(0.35, 0.5)
    angle = rng.uniform(0, math.pi)
    outline = []
    for k in range(48):
        t = 2 * math.pi * k / 48
        x, y = length / 2 * math.cos(t), width / 2 * math.sin(t) * abs(math.sin(t)) ** 0.3
        outline.append(
            (cx + x * math.cos(angle) - y * math.sin(angle), cy + x * math.sin(angle) + y * math.cos(angle))
        )
    green = (rng.randint(40, 80), rng.randint(120, 170), rng.randint(30, 70))
    draw.polygon(outline, fill=green)
    draw.line(
        [outline[0], outline[24]],
        fill=(green[0] + 40, green[1] + 40, green[2] + 30),
        width=max(1, size // 64),
    )

    colour, shape, count = _lesion_style(risk_index)
    boxes: list[Box] = []
    for _ in range(count):
        along = rng.uniform(-0.3, 0.3) * length
        lx, ly = cx + along * math.cos(angle), cy + along * math.sin(angle)
        rx = size * rng.uniform(0.08, 0.14)
        ry = rx * (0.35 if shape == "stripe" else rng.uniform(0.8, 1.1))
        box = (lx - rx, ly - ry, lx + rx, ly + ry)
        if shape == "ring":
            draw.ellipse(box, outline=colour, width=max(2, size // 40))
        elif shape == "speckles":
            for _ in range(12):
                sx, sy = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
                d = max(1.5, size / 80)
                draw.ellipse((sx - d, sy - d, sx + d, sy + d), fill=colour)
        else:
            draw.ellipse(box, fill=colour)
        boxes.append(Box.clipped(box[0] / size, box[1] / size, box[2] / size, box[3] / size))
    image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.0, 0.6)))
    return image, boxes


def generate_leaf_dataset(
    out_dir: str | Path,
    risk_ids: Sequence[str],
    images_per_class: int = 8,
    imgsz: int = 128,
    seed: int = 0,
    val_fraction: float = 0.25,
    test_fraction: float = 0.0,
) -> Path:
    """Write a YOLO dataset (images/, labels/, data.yaml with names = risk ids); returns data.yaml."""
    if not risk_ids:
        raise ValueError("generate_leaf_dataset needs at least one risk id")
    out = Path(out_dir)
    rng = random.Random(seed)
    n_val = max(1, round(images_per_class * val_fraction))
    n_test = round(images_per_class * test_fraction)
    splits = ["train", "val"] + (["test"] if n_test else [])
    for split in splits:
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    for index, risk_id in enumerate(risk_ids):
        for k in range(images_per_class):
            split = "val" if k < n_val else "test" if k < n_val + n_test else "train"
            image, boxes = draw_leaf(index, rng, imgsz)
            stem = f"{risk_id}-{k:03d}"
            image.save(out / "images" / split / f"{stem}.jpg", quality=92)
            lines = []
            for box in boxes:
                cx, cy, w, h = box.to_yolo()
                lines.append(f"{index} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
            (out / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    names = "\n".join(f"  {i}: {risk_id}" for i, risk_id in enumerate(risk_ids))
    split_lines = "\n".join(f"{s}: images/{s}" for s in splits)
    data_yaml = out / "data.yaml"
    data_yaml.write_text(f"path: {out.resolve()}\n{split_lines}\nnames:\n{names}\n")
    return data_yaml
