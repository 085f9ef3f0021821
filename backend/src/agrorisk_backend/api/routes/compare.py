"""POST /v1/compare: the local model and Gemini on one photo, side by side."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import CheckedUpload, CropHint, ServicesDep, photo_route
from agrorisk_backend.api.schemas import CompareResult

router = APIRouter(prefix="/v1", tags=["recognise"])


@photo_route(router, "/compare", CompareResult, "Compare the local model with Gemini")
async def compare(image: CheckedUpload, services: ServicesDep, crop: CropHint) -> CompareResult:
    """Both recognisers concurrently (one failing leaves the other's answer), boxes matched by IoU,
    an agreement score, the risks only one side found, a card per risk, and one verdict over both.
    A down Gemini costs at most AGRORISK_BACKEND_GEMINI_TIMEOUT_S (nothing while its circuit breaker
    is open): `status.gemini` then says `unavailable (<reason>)` beside the local answer."""
    return await services.recognition.compare(image, crop=crop)
