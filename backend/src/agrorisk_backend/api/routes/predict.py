"""POST /v1/predict: the local model (Ray Serve or Triton) on one photo."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import CheckedUpload, CropHint, ServicesDep, photo_route
from agrorisk_backend.api.schemas import PredictionResult

router = APIRouter(prefix="/v1", tags=["recognise"])


@photo_route(router, "/predict", PredictionResult, "Recognise risks with the local model")
async def predict(image: CheckedUpload, services: ServicesDep, crop: CropHint) -> PredictionResult:
    """Detections with risk names, guidance cards, latency and model version, and the `verdict`
    (risks_found, no_risk_found, unsure, unavailable) with its uk/en message. A down model server
    answers 200 with `error` set (verdict `unavailable`), so a client can show what happened."""
    return await services.recognition.predict(image, use_gemini=False, crop=crop)
