"""GET /v1/models: registry versions with metrics and aliases."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import ServicesDep
from agrorisk_backend.services.model_registry import ModelsOut

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models", response_model=ModelsOut, summary="Model versions in the registry")
async def models(services: ServicesDep) -> ModelsOut:
    """Newest first, with metrics, aliases and W&B links; `error` says when the registry is down."""
    return await services.models.list()
