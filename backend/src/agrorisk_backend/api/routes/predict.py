"""POST /v1/predict: the local model (Ray Serve or Triton) on one photo."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import CheckedUpload, CropHint, ServicesDep, photo_upload
from agrorisk_backend.api.errors import error_responses
from agrorisk_backend.api.schemas import PredictionResult

router = APIRouter(prefix="/v1", tags=["recognise"])


@router.post(
    "/predict",
    response_model=PredictionResult,
    summary="Recognise risks with the local model",
    responses=error_responses(413, 415),
    openapi_extra=photo_upload("file"),
)
async def predict(image: CheckedUpload, services: ServicesDep, crop: CropHint) -> PredictionResult:
    """Detections with risk names, guidance cards, latency and model version, and the `verdict`
    (risks_found, no_risk_found, unsure, unavailable) with its uk/en message. A down model server
    answers 200 with `error` set (verdict `unavailable`), so a client can show what happened."""
    return await services.recognition.predict(image, use_gemini=False, crop=crop)
