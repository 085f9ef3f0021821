"""What an answer means for the person holding the plant: risks found, no risk found, or unsure.

The rule (`VerdictRule`), applied to the detections the recognisers returned:

- a recogniser that failed has no verdict of its own; when none answered: `unavailable`;
- a risk (any class but `healthy:<crop>`) at or above the operating threshold: `risks_found`;
- otherwise a risk between the unsure floor (inclusive) and the threshold: `unsure` — the model saw
  something but not enough to say so;
- otherwise (nothing, `healthy:<crop>` boxes, or only noise below the floor): `no_risk_found`, naming
  the crop when it is known — the request's `crop`, else the model's most confident healthy class.

A serving engine only returns boxes above its own confidence threshold: `unsure` needs that one at
or below the floor (e.g. `AGRORISK_RAY_CONF_THRESHOLD=0.10`); with both at 0.25 no box falls between
and an empty answer is `no_risk_found`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from agrorisk_common.catalog import Catalog, crop_names, healthy_crop, is_healthy_class
from agrorisk_common.detection import Detection, Prediction

VerdictKind = Literal["risks_found", "no_risk_found", "unsure", "unavailable"]
_NAMED = 3  # risks named in a message; the rest are counted


class VerdictInfo(BaseModel):
    """The verdict in words (uk/en) and what it rests on."""

    message_uk: str
    message_en: str
    crop: str | None = Field(
        default=None,
        description="the crop the verdict is about when known (the request's, or a healthy:<crop> class)",
    )
    risk_ids: list[str] = Field(
        default=[], description="risks found (risks_found) or suspected (unsure), most confident first"
    )
    threshold: float = Field(description="operating threshold: a risk at or above it is found")
    unsure_floor: float = Field(description="a risk between this and the threshold makes the model unsure")


@dataclass(frozen=True)
class VerdictRule:
    threshold: float
    unsure_floor: float

    def judge(
        self, predictions: Sequence[Prediction], catalog: Catalog, crop: str | None = None
    ) -> tuple[VerdictKind, VerdictInfo]:
        """The verdict over the answers of one or more recognisers about one photo."""
        answered = [p for p in predictions if p.error is None]
        if not answered:
            errors = "; ".join(p.error or "" for p in predictions)
            return "unavailable", VerdictInfo(
                message_uk=f"Відповіді немає: {errors}",
                message_en=f"No answer: {errors}",
                crop=crop,
                threshold=self.threshold,
                unsure_floor=self.unsure_floor,
            )
        detections = [d for p in answered for d in p.detections]
        risks = [d for d in detections if not is_healthy_class(d.risk_id)]
        found = _by_confidence(d for d in risks if d.confidence >= self.threshold)
        if found:
            uk, en = _names(found, catalog)
            return "risks_found", VerdictInfo(
                message_uk=f"Знайдено ризики: {uk}.",
                message_en=f"Risks found: {en}.",
                crop=crop,
                risk_ids=list(found),
                threshold=self.threshold,
                unsure_floor=self.unsure_floor,
            )
        suspected = _by_confidence(d for d in risks if d.confidence >= self.unsure_floor)
        if suspected:
            uk, en = _names(suspected, catalog)
            best = max(suspected.values())
            return "unsure", VerdictInfo(
                message_uk=f"Модель не впевнена: можливо {uk} (найвища впевненість {best:.2f} нижча за "
                f"поріг {self.threshold:.2f}). Огляньте рослину або зробіть чіткіше фото.",
                message_en=f"The model is unsure: possibly {en} (best confidence {best:.2f} is below the "
                f"{self.threshold:.2f} threshold). Inspect the plant or take a sharper photo.",
                crop=crop,
                risk_ids=list(suspected),
                threshold=self.threshold,
                unsure_floor=self.unsure_floor,
            )
        crop = crop or _healthy_crop(detections, self.unsure_floor)
        if crop is None:
            uk, en = "Ризиків на цій культурі не знайдено.", "No risk found on this crop."
        else:
            names = crop_names(crop)
            uk, en = (
                f"Ризиків на цій культурі ({names.uk}) не знайдено.",
                f"No risk found on this crop ({names.en}).",
            )
        return "no_risk_found", VerdictInfo(
            message_uk=uk, message_en=en, crop=crop, threshold=self.threshold, unsure_floor=self.unsure_floor
        )


def _by_confidence(detections: Iterable[Detection]) -> dict[str, float]:
    best: dict[str, float] = {}
    for d in detections:
        best[d.risk_id] = max(best.get(d.risk_id, 0.0), d.confidence)
    return dict(sorted(best.items(), key=lambda item: -item[1]))


def _names(risks: dict[str, float], catalog: Catalog) -> tuple[str, str]:
    named = list(risks)[:_NAMED]
    uk = [catalog.get(r).name_uk if r in catalog else r for r in named]
    en = [catalog.get(r).name_en if r in catalog else r for r in named]
    more = len(risks) - len(named)
    if more:
        uk.append(f"і ще {more}")
        en.append(f"and {more} more")
    return ", ".join(uk), ", ".join(en)


def _healthy_crop(detections: Sequence[Detection], floor: float) -> str | None:
    healthy = [d for d in detections if is_healthy_class(d.risk_id) and d.confidence >= floor]
    return healthy_crop(max(healthy, key=lambda d: d.confidence).risk_id) if healthy else None
