"""GET /v1/risks: the risk catalog with guidance, searchable."""

from __future__ import annotations

from fastapi import APIRouter, Query

from agrorisk_backend.api.deps import ServicesDep
from agrorisk_backend.api.errors import error_responses
from agrorisk_backend.api.schemas import RiskCard
from agrorisk_backend.errors import ApiError

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get("/risks", response_model=list[RiskCard], summary="The risk catalog")
async def risks(
    services: ServicesDep,
    q: str = Query(default="", max_length=200, description="words to find in names, Latin name, symptoms"),
    crop: str | None = Query(default=None, description="crop slug, e.g. winter_wheat"),
    risk_type: str | None = Query(default=None, description="disease, pest, weed or abiotic"),
) -> list[RiskCard]:
    catalog = services.catalog
    try:
        chosen = catalog.select(crops=[crop] if crop else [], risk_types=[risk_type] if risk_type else [])
    except (KeyError, ValueError) as exc:
        raise ApiError(422, "invalid_request", str(exc).strip("'\"")) from None
    words = q.lower().split()
    cards = [RiskCard.from_risk(r, catalog) for r in chosen]
    return [c for c in cards if all(w in _haystack(c) for w in words)]


@router.get(
    "/risks/{risk_id}",
    response_model=RiskCard,
    summary="One risk's card",
    responses=error_responses(404),
)
async def risk(risk_id: str, services: ServicesDep) -> RiskCard:
    if risk_id not in services.catalog:
        raise ApiError(404, "not_found", f"unknown risk id {risk_id!r}")
    return RiskCard.from_risk(services.catalog.get(risk_id), services.catalog)


def _haystack(card: RiskCard) -> str:
    return " ".join(
        (
            card.id,
            card.name_uk,
            card.name_en,
            card.latin_name,
            card.crop_name_uk,
            card.crop_name_en,
            card.symptoms_uk,
        )
    ).lower()
