"""The detection contract shared by YOLO, Gemini, the serving engines, the backend and the UI.

Boxes are normalised xyxy in [0, 1] relative to the (EXIF-rotated) image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agrorisk_common.catalog import ClassMap

GEMINI_BOX_SCALE = 1000.0


class Box(BaseModel):
    """A box in normalised xyxy: 0 <= x1 < x2 <= 1, 0 <= y1 < y2 <= 1."""

    model_config = ConfigDict(frozen=True)

    x1: float = Field(ge=0.0, le=1.0)
    y1: float = Field(ge=0.0, le=1.0)
    x2: float = Field(ge=0.0, le=1.0)
    y2: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not (self.x1 < self.x2 and self.y1 < self.y2):
            raise ValueError(f"box is empty or inverted: {self.as_tuple()}")
        return self

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def area(self) -> float:
        return (self.x2 - self.x1) * (self.y2 - self.y1)

    @classmethod
    def clipped(cls, x1: float, y1: float, x2: float, y2: float) -> Self:
        """A box from coordinates that may stray slightly outside [0, 1] (model output)."""
        c = [min(1.0, max(0.0, float(v))) for v in (x1, y1, x2, y2)]
        return cls(x1=c[0], y1=c[1], x2=c[2], y2=c[3])

    @classmethod
    def whole_image(cls) -> Self:
        return cls(x1=0.0, y1=0.0, x2=1.0, y2=1.0)

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        return (
            round(self.x1 * width),
            round(self.y1 * height),
            round(self.x2 * width),
            round(self.y2 * height),
        )

    # YOLO txt: "cls cx cy w h", normalised.
    def to_yolo(self) -> tuple[float, float, float, float]:
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2, self.x2 - self.x1, self.y2 - self.y1)

    @classmethod
    def from_yolo(cls, cx: float, cy: float, w: float, h: float) -> Self:
        return cls(x1=cx - w / 2, y1=cy - h / 2, x2=cx + w / 2, y2=cy + h / 2)

    # Gemini: box_2d = [ymin, xmin, ymax, xmax] on a 0..1000 scale.
    def to_box_2d(self) -> list[int]:
        s = GEMINI_BOX_SCALE
        return [round(self.y1 * s), round(self.x1 * s), round(self.y2 * s), round(self.x2 * s)]

    @classmethod
    def from_box_2d(cls, box_2d: Sequence[float]) -> Self:
        """Raises ValueError when the box is not 4 numbers in 0..1000 with min < max."""
        if len(box_2d) != 4:
            raise ValueError(f"box_2d needs 4 numbers, got {len(box_2d)}")
        ymin, xmin, ymax, xmax = (float(v) for v in box_2d)
        if any(not 0 <= v <= GEMINI_BOX_SCALE for v in (ymin, xmin, ymax, xmax)):
            raise ValueError(f"box_2d {list(box_2d)} is outside 0..1000")
        s = GEMINI_BOX_SCALE
        return cls(x1=xmin / s, y1=ymin / s, x2=xmax / s, y2=ymax / s)


class Detection(BaseModel):
    """One recognised risk in one place of the image."""

    risk_id: str
    class_index: int | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    box: Box

    def to_yolo_line(self, class_map: ClassMap) -> str:
        cx, cy, w, h = self.box.to_yolo()
        return f"{class_map.index_of(self.risk_id)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"

    @classmethod
    def from_yolo_line(cls, line: str, class_map: ClassMap, confidence: float = 1.0) -> Self:
        """Parse "cls cx cy w h [conf]"; raises ValueError with the reason on a bad line."""
        parts = line.split()
        if len(parts) not in (5, 6):
            raise ValueError(f"YOLO line needs 5 or 6 fields, got {len(parts)}: {line!r}")
        try:
            index = int(parts[0])
            cx, cy, w, h = (float(p) for p in parts[1:5])
            conf = float(parts[5]) if len(parts) == 6 else confidence
        except ValueError:
            raise ValueError(f"YOLO line has a non-number: {line!r}") from None
        return cls(
            risk_id=class_map.risk_id(index),
            class_index=index,
            confidence=conf,
            box=Box.from_yolo(cx, cy, w, h),
        )


class Prediction(BaseModel):
    """Everything one model said about one image."""

    source: str = Field(description="who predicted: 'yolo', 'gemini', …")
    detections: list[Detection] = []
    model_version: str | None = None
    latency_ms: float | None = Field(default=None, ge=0.0)
    cost_usd: float | None = Field(default=None, ge=0.0)
    image_width: int | None = None
    image_height: int | None = None
    error: str | None = Field(default=None, description="why there are no detections, when that is a failure")

    @property
    def risk_ids(self) -> set[str]:
        return {d.risk_id for d in self.detections}


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


class MatchedPair(BaseModel):
    left: int
    right: int
    iou: float
    same_risk: bool


def match_by_iou(
    left: Sequence[Detection],
    right: Sequence[Detection],
    threshold: float = 0.5,
    same_risk_only: bool = False,
) -> tuple[list[MatchedPair], list[int], list[int]]:
    """Greedy one-to-one matching by IoU (highest first).

    Returns the matched pairs and the unmatched indices of each side.
    """
    candidates = []
    for i, a in enumerate(left):
        for j, b in enumerate(right):
            if same_risk_only and a.risk_id != b.risk_id:
                continue
            score = iou(a.box, b.box)
            if score >= threshold:
                candidates.append((score, a.risk_id == b.risk_id, i, j))
    candidates.sort(key=lambda c: (c[1], c[0]), reverse=True)
    used_left, used_right, pairs = set(), set(), []
    for score, same, i, j in candidates:
        if i in used_left or j in used_right:
            continue
        used_left.add(i)
        used_right.add(j)
        pairs.append(MatchedPair(left=i, right=j, iou=score, same_risk=same))
    pairs.sort(key=lambda p: p.left)
    return (
        pairs,
        [i for i in range(len(left)) if i not in used_left],
        [j for j in range(len(right)) if j not in used_right],
    )
