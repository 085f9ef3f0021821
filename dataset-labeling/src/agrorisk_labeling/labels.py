"""The labels manifest (`labels.jsonl` beside the pool manifest): one line per image, keyed by sha256.

Every box records where it came from and its confidence. Boxes keep their raw normalised
coordinates, so the dataset builder can reject bad ones with a reason instead of losing them here.
A higher-priority source is never overwritten by a lower one: human review beats imports, imports
beat model pseudo-labels, and those beat whole-image boxes. An image can also be an explicit negative
(a healthy leaf: nothing to find) or wait for review (no labeller could box it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agrorisk_common.detection import Detection
from agrorisk_labeling.errors import LabelingError


class LabelSource(StrEnum):
    HUMAN = "human"
    IMPORT = "import"
    YOLO = "yolo"
    GEMINI = "gemini"
    WHOLE_IMAGE = "whole-image"
    NONE = "none"  # no labeller could box the image: it waits for a person


class LabelStatus(StrEnum):
    BOXED = "boxed"  # its boxes are the labels
    NEGATIVE = "negative"  # checked: no risk to find (a healthy leaf); trains as an empty label file
    NEEDS_REVIEW = "needs-review"  # stays out of every split until a person labels it


WHOLE_IMAGE_REQUESTED = "requested"  # model_version of whole-image boxes someone asked for (--whole-image)


PRIORITY = {
    LabelSource.HUMAN: 3,
    LabelSource.IMPORT: 2,
    LabelSource.YOLO: 1,
    LabelSource.GEMINI: 1,
    LabelSource.WHOLE_IMAGE: 0,
    LabelSource.NONE: -1,
}


class LabelBox(BaseModel):
    """One box: risk id, raw normalised xyxy, confidence, and who drew it."""

    risk_id: str
    x1: float
    y1: float
    x2: float
    y2: float
    confidence: float = Field(ge=0.0, le=1.0)
    source: LabelSource
    model_version: str | None = None
    prompt: str | None = Field(
        default=None, description="sha256 (12 hex) of the prompt a model was asked with"
    )
    cost_usd: float | None = Field(default=None, ge=0.0, description="cost of the call that proposed the box")

    @property
    def coords(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @classmethod
    def from_detection(cls, detection: Detection, source: LabelSource, **provenance: Any) -> LabelBox:
        """A model's detection as a proposed box (`provenance`: model_version, prompt, cost_usd)."""
        box = detection.box
        return cls(
            risk_id=detection.risk_id, x1=box.x1, y1=box.y1, x2=box.x2, y2=box.y2,
            confidence=detection.confidence, source=source, **provenance,
        )  # fmt: skip


class ImageLabels(BaseModel):
    """All boxes of one image, the source that produced the set, and whether it is a negative."""

    sha256: str
    file: str
    source: LabelSource
    boxes: list[LabelBox] = []
    status: LabelStatus = LabelStatus.BOXED
    updated_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def priority(self) -> int:
        return PRIORITY[self.source]


@dataclass
class LabelStore:
    """Labels of a pool, loaded from and saved to a jsonl file."""

    path: Path
    items: dict[str, ImageLabels]

    @classmethod
    def load(cls, path: Path) -> LabelStore:
        items: dict[str, ImageLabels] = {}
        if path.exists():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    labels = ImageLabels.model_validate_json(line)
                except ValueError as exc:
                    raise LabelingError(f"{path}:{number}: not a label record: {exc}") from None
                items[labels.sha256] = labels
        return cls(path, items)

    def get(self, sha256: str) -> ImageLabels | None:
        return self.items.get(sha256)

    def put(self, labels: ImageLabels, replace: bool = False) -> bool:
        """Store labels unless a higher-priority set is already there (or `replace`). True when stored."""
        current = self.items.get(labels.sha256)
        if not replace and current is not None and current.priority > labels.priority:
            return False
        self.items[labels.sha256] = labels
        return True

    def __iter__(self) -> Iterator[ImageLabels]:
        return iter(self.items.values())

    def __len__(self) -> int:
        return len(self.items)

    def save(self) -> None:
        """Write sorted by sha256 through a temp file (deterministic, never half-written)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".jsonl.tmp")
        lines = (
            json.dumps(self.items[k].model_dump(mode="json"), ensure_ascii=False) for k in sorted(self.items)
        )
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        tmp.replace(self.path)
