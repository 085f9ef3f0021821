"""POST /v1/gemini: Gemini on one photo."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import CheckedUpload, CropHint, ServicesDep, photo_upload
from agrorisk_backend.api.errors import error_responses
from agrorisk_backend.api.schemas import PredictionResult

router = APIRouter(prefix="/v1", tags=["recognise"])


@router.post(
    "/gemini",
    response_model=PredictionResult,
    summary="Recognise risks with Gemini",
    responses=error_responses(413, 415),
    openapi_extra=photo_upload("file"),
)
async def gemini(image: CheckedUpload, services: ServicesDep, crop: CropHint) -> PredictionResult:
    """Detections with risk names, guidance cards, latency and cost in USD. Without a key the
    answer has `error` 'Gemini is not configured'."""
    return await services.recognition.predict(image, use_gemini=True, crop=crop)
