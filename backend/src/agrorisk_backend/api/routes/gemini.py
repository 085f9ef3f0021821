"""POST /v1/gemini: Gemini on one photo."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import CheckedUpload, CropHint, ServicesDep, photo_route
from agrorisk_backend.api.schemas import PredictionResult

router = APIRouter(prefix="/v1", tags=["recognise"])


@photo_route(router, "/gemini", PredictionResult, "Recognise risks with Gemini")
async def gemini(image: CheckedUpload, services: ServicesDep, crop: CropHint) -> PredictionResult:
    """Detections with risk names, guidance cards, latency and cost in USD. Without a key the
    answer has `error` 'Gemini is not configured'."""
    return await services.recognition.predict(image, use_gemini=True, crop=crop)
