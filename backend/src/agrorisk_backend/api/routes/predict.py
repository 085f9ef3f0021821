"""POST /v1/predict: the local model (Ray Serve or Triton) on one photo."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import CheckedUpload, ServicesDep
from agrorisk_backend.api.schemas import PredictionResult

router = APIRouter(prefix="/v1", tags=["recognise"])


@router.post("/predict", response_model=PredictionResult, summary="Recognise risks with the local model")
async def predict(image: CheckedUpload, services: ServicesDep) -> PredictionResult:
    """Detections with risk names, guidance cards, latency and model version. A down model server
    answers 200 with `error` set, so a client can show what happened."""
    return await services.recognition.predict(image, use_gemini=False)
