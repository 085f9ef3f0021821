"""POST /v1/gemini: Gemini on one photo."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import CheckedUpload, ServicesDep
from agrorisk_backend.api.schemas import PredictionResult

router = APIRouter(prefix="/v1", tags=["recognise"])


@router.post("/gemini", response_model=PredictionResult, summary="Recognise risks with Gemini")
async def gemini(image: CheckedUpload, services: ServicesDep) -> PredictionResult:
    """Detections with risk names, guidance cards, latency and cost in USD. Without a key the
    answer has `error` 'Gemini is not configured'."""
    return await services.recognition.predict(image, use_gemini=True)
