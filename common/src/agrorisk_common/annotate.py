"""Draw a model's boxes on the photo, each labelled with the risk's Ukrainian and English name."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

# A font with Cyrillic: Debian's fonts-dejavu-core (also in the Docker image), else matplotlib's copy.
_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)
_PALETTE = (
    (230, 57, 70),
    (29, 53, 87),
    (255, 183, 3),
    (42, 157, 143),
    (131, 56, 236),
    (251, 86, 7),
    (6, 214, 160),
)


def colour_of(risk_id: str) -> tuple[int, int, int]:
    """A stable colour per risk, the same on both images."""
    return _PALETTE[int(hashlib.md5(risk_id.encode()).hexdigest(), 16) % len(_PALETTE)]


@cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in (*_FONT_CANDIDATES, _matplotlib_font()):
        if path is not None and path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _matplotlib_font() -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    return Path(matplotlib.__file__).parent / "mpl-data/fonts/ttf/DejaVuSans.ttf"


def annotate(image: Image.Image, detections: list[dict[str, Any]]) -> Image.Image:
    """A copy of the photo with every detection's box and a label 'назва / name 0.87'."""
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    width, height = out.size
    line = max(2, round(max(width, height) / 250))
    font = _font(max(12, round(max(width, height) / 45)))
    for d in sorted(detections, key=lambda d: d["confidence"]):
        box = d["box"]
        x1, y1, x2, y2 = box["x1"] * width, box["y1"] * height, box["x2"] * width, box["y2"] * height
        colour = colour_of(d["risk_id"])
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=line)
        label = f"{d.get('name_uk', d['risk_id'])} / {d.get('name_en', d['risk_id'])} {d['confidence']:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        text_w, text_h = right - left, bottom - top
        pad = max(2, line)
        ty = y1 - text_h - 2 * pad if y1 - text_h - 2 * pad >= 0 else y1
        tx = min(x1, max(0, width - text_w - 2 * pad))
        draw.rectangle((tx, ty, tx + text_w + 2 * pad, ty + text_h + 2 * pad), fill=colour)
        draw.text((tx + pad - left, ty + pad - top), label, fill=(255, 255, 255), font=font)
    return out
