"""POST /v1/compare: the local model and Gemini on one photo, side by side."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import CheckedUpload, ServicesDep
from agrorisk_backend.api.schemas import CompareResult

router = APIRouter(prefix="/v1", tags=["recognise"])


@router.post("/compare", response_model=CompareResult, summary="Compare the local model with Gemini")
async def compare(image: CheckedUpload, services: ServicesDep) -> CompareResult:
    """Both recognisers concurrently (one failing leaves the other's answer), boxes matched by IoU,
    an agreement score, the risks only one side found, and a card per risk."""
    return await services.recognition.compare(image)
