"""GET /v1/models: registry versions with metrics and aliases; GET /v1/models/{ref}/history: curves."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import ServicesDep
from agrorisk_backend.api.errors import error_responses
from agrorisk_backend.errors import ApiError, public_text
from agrorisk_backend.services.model_registry import ModelsOut, NoHistory, TrainingHistory
from agrorisk_storage import RegistryError

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models", response_model=ModelsOut, summary="Model versions in the registry")
async def models(services: ServicesDep) -> ModelsOut:
    """Newest first, with metrics, aliases and W&B links; `error` says when the registry is down."""
    return await services.models.list()


@router.get(
    "/models/{ref}/history",
    response_model=TrainingHistory,
    summary="Training curves of one model version",
    responses=error_responses(404, 503),
)
async def history(ref: str, services: ServicesDep) -> TrainingHistory:
    """Loss and mAP per epoch of version `ref` ("v3", "3", "latest" or an alias such as "production"),
    from the run's own files in the registry, so training is viewable without a W&B server."""
    try:
        return await services.models.history(ref)
    except NoHistory as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except (RegistryError, OSError) as exc:
        raise ApiError(503, "unavailable", public_text(f"registry unavailable: {exc}")) from None
