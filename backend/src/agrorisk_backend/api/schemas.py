"""Response shapes of the API: the common detection contract plus what a person needs to act on it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agrorisk_backend.services.verdicts import VerdictInfo, VerdictKind
from agrorisk_common.catalog import Catalog, Guidance, Risk, crop_names, healthy_crop, is_healthy_class
from agrorisk_common.detection import Detection, Prediction

VERDICT_DESCRIPTION = (
    "risks_found: a risk at or above the operating threshold; unsure: risks only between the unsure "
    "floor and the threshold; no_risk_found: the model answered and found no risk; unavailable: no answer"
)


class LookAlike(BaseModel):
    id: str
    name_uk: str
    name_en: str


class RiskCard(BaseModel):
    """One catalog risk as the UI shows it: names, symptoms, guidance, look-alikes."""

    id: str
    known: bool = Field(description="False when a model named a risk the catalog does not have")
    crop: str = ""
    crop_name_uk: str = ""
    crop_name_en: str = ""
    risk_type: str = ""
    name_uk: str
    name_en: str
    latin_name: str = ""
    plant_part: str = ""
    symptoms_uk: str = ""
    guidance: Guidance = Guidance()
    has_guidance: bool = False
    look_alikes: list[LookAlike] = []

    @classmethod
    def from_risk(cls, risk: Risk, catalog: Catalog) -> RiskCard:
        """The card of a catalog risk: every field but these three is the risk's attribute of that name."""
        own = {
            "known": True,
            "risk_type": risk.risk_type.value,
            "look_alikes": [_look_alike(name, catalog) for name in risk.look_alikes],
        }
        return cls(**{name: getattr(risk, name) for name in cls.model_fields if name not in own}, **own)

    @classmethod
    def for_id(cls, risk_id: str, catalog: Catalog) -> RiskCard:
        if risk_id in catalog:
            return cls.from_risk(catalog.get(risk_id), catalog)
        if is_healthy_class(risk_id):  # a model's healthy:<crop> class: named, never a risk
            crop = healthy_crop(risk_id)
            names = crop_names(crop)
            return cls(
                id=risk_id,
                known=False,
                crop=crop,
                crop_name_uk=names.uk,
                crop_name_en=names.en,
                risk_type="healthy",
                name_uk=f"Здорова рослина ({names.uk})",
                name_en=f"Healthy plant ({names.en})",
            )
        return cls(id=risk_id, known=False, name_uk=risk_id, name_en=risk_id)


def _look_alike(name: str, catalog: Catalog) -> LookAlike:
    """A look-alike is a catalog id when the catalog knows it, else free text (e.g. an abiotic cause)."""
    if name in catalog:
        risk = catalog.get(name)
        return LookAlike(id=risk.id, name_uk=risk.name_uk, name_en=risk.name_en)
    return LookAlike(id=name, name_uk=name, name_en=name)


class NamedDetection(Detection):
    name_uk: str
    name_en: str


class PredictionResult(Prediction):
    """One model's answer about one photo, with names and a card for each risk it found."""

    request_id: str
    detections: list[NamedDetection] = []
    risks: list[RiskCard] = Field(
        default=[],
        description="one card per detected risk (healthy classes have none), in order of confidence",
    )
    verdict: VerdictKind = Field(description=VERDICT_DESCRIPTION)
    verdict_info: VerdictInfo


class MatchedPairOut(BaseModel):
    local_index: int
    gemini_index: int
    local_risk_id: str
    gemini_risk_id: str
    local_confidence: float
    gemini_confidence: float
    iou: float
    same_risk: bool


class CompareRow(BaseModel):
    """One line of the comparison table: a risk either side found."""

    risk_id: str
    name_uk: str
    name_en: str
    local_confidence: float | None
    gemini_confidence: float | None
    iou: float | None = Field(description="best IoU of a same-risk pair of boxes, None when no pair")
    found_by: Literal["both", "local", "gemini"]


class CompareResult(BaseModel):
    request_id: str
    local: PredictionResult
    gemini: PredictionResult
    pairs: list[MatchedPairOut]
    unmatched_local: list[int] = Field(description="indices of local detections with no Gemini box")
    unmatched_gemini: list[int] = Field(description="indices of Gemini detections with no local box")
    only_local: list[str] = Field(description="risk ids only the local model found")
    only_gemini: list[str] = Field(description="risk ids only Gemini found")
    agreement: float | None = Field(
        description="2 x boxes paired with a same-risk box at IoU >= the threshold / all boxes (1.0 when both found nothing; the evaluator's matching rule); None if a side failed"
    )
    table: list[CompareRow]
    risks: list[RiskCard]
    verdict: VerdictKind = Field(description=f"over both answers: {VERDICT_DESCRIPTION}")
    verdict_info: VerdictInfo
    status: dict[str, str] = Field(
        description='each side\'s state: {"local": "ok", "gemini": "unavailable (<reason>)"}'
    )
