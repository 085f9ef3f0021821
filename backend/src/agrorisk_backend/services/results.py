"""Turn raw Predictions into API results: names, risk cards, and the side-by-side comparison."""

from __future__ import annotations

from agrorisk_backend.api.schemas import (
    CompareResult,
    CompareRow,
    MatchedPairOut,
    NamedDetection,
    PredictionResult,
    RiskCard,
)
from agrorisk_backend.services.verdicts import VerdictRule
from agrorisk_common.catalog import Catalog, is_healthy_class
from agrorisk_common.comparison import box_agreement
from agrorisk_common.detection import MatchedPair, Prediction, match_by_iou


def prediction_result(
    prediction: Prediction, request_id: str, catalog: Catalog, rule: VerdictRule, crop: str | None = None
) -> PredictionResult:
    """The prediction with uk/en names on each detection, one card per detected risk and its verdict."""
    cards = {risk_id: RiskCard.for_id(risk_id, catalog) for risk_id in _by_confidence(prediction)}
    detections = [
        NamedDetection(**d.model_dump(), name_uk=cards[d.risk_id].name_uk, name_en=cards[d.risk_id].name_en)
        for d in prediction.detections
    ]
    verdict, info = rule.judge([prediction], catalog, crop)
    return PredictionResult(
        **prediction.model_dump(exclude={"detections"}),
        request_id=request_id,
        detections=detections,
        risks=_risk_cards(cards),
        verdict=verdict,
        verdict_info=info,
    )


def compare_result(
    local: Prediction,
    gemini: Prediction,
    request_id: str,
    catalog: Catalog,
    iou_threshold: float,
    rule: VerdictRule,
    crop: str | None = None,
) -> CompareResult:
    """Match local and Gemini boxes by IoU, score their agreement, list what only one side saw, and
    judge both answers together (a risk either side found at the threshold is found)."""
    pairs, unmatched_local, unmatched_gemini = match_by_iou(
        local.detections, gemini.detections, threshold=iou_threshold
    )
    local_risks, gemini_risks = _by_confidence(local), _by_confidence(gemini)
    all_risks = list(dict.fromkeys([*local_risks, *gemini_risks]))
    cards = {risk_id: RiskCard.for_id(risk_id, catalog) for risk_id in all_risks}
    verdict, info = rule.judge([local, gemini], catalog, crop)
    return CompareResult(
        request_id=request_id,
        local=prediction_result(local, request_id, catalog, rule, crop),
        gemini=prediction_result(gemini, request_id, catalog, rule, crop),
        pairs=[
            MatchedPairOut(
                local_index=p.left,
                gemini_index=p.right,
                local_risk_id=local.detections[p.left].risk_id,
                gemini_risk_id=gemini.detections[p.right].risk_id,
                local_confidence=local.detections[p.left].confidence,
                gemini_confidence=gemini.detections[p.right].confidence,
                iou=round(p.iou, 4),
                same_risk=p.same_risk,
            )
            for p in pairs
        ],
        unmatched_local=unmatched_local,
        unmatched_gemini=unmatched_gemini,
        only_local=[r for r in local_risks if r not in gemini_risks],
        only_gemini=[r for r in gemini_risks if r not in local_risks],
        agreement=None
        if local.error or gemini.error
        else round(box_agreement(local.detections, gemini.detections, iou_threshold), 4),
        table=_table(local, gemini, pairs, all_risks, cards),
        risks=_risk_cards(cards),
        verdict=verdict,
        verdict_info=info,
        status={"local": side_status(local), "gemini": side_status(gemini)},
    )


def side_status(prediction: Prediction) -> str:
    """`ok`, or `unavailable (<reason>)` for a recogniser that gave no answer."""
    return "ok" if prediction.error is None else f"unavailable ({prediction.error})"


def _risk_cards(cards: dict[str, RiskCard]) -> list[RiskCard]:
    return [card for risk_id, card in cards.items() if not is_healthy_class(risk_id)]


def _by_confidence(prediction: Prediction) -> dict[str, float]:
    """Each detected risk id with its highest confidence, most confident first."""
    best: dict[str, float] = {}
    for d in prediction.detections:
        best[d.risk_id] = max(best.get(d.risk_id, 0.0), d.confidence)
    return dict(sorted(best.items(), key=lambda item: -item[1]))


def _table(
    local: Prediction,
    gemini: Prediction,
    pairs: list[MatchedPair],
    risk_ids: list[str],
    cards: dict[str, RiskCard],
) -> list[CompareRow]:
    local_conf, gemini_conf = _by_confidence(local), _by_confidence(gemini)
    best_iou: dict[str, float] = {}
    for p in pairs:
        if p.same_risk:
            risk_id = local.detections[p.left].risk_id
            best_iou[risk_id] = max(best_iou.get(risk_id, 0.0), round(p.iou, 4))
    rows = []
    for risk_id in risk_ids:
        in_local, in_gemini = risk_id in local_conf, risk_id in gemini_conf
        rows.append(
            CompareRow(
                risk_id=risk_id,
                name_uk=cards[risk_id].name_uk,
                name_en=cards[risk_id].name_en,
                local_confidence=local_conf.get(risk_id),
                gemini_confidence=gemini_conf.get(risk_id),
                iou=best_iou.get(risk_id),
                found_by="both" if in_local and in_gemini else "local" if in_local else "gemini",
            )
        )
    return rows
