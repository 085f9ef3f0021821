"""GET /v1/links: where every UI of the stack is (nginx paths by default)."""

from __future__ import annotations

from fastapi import APIRouter

from agrorisk_backend.api.deps import ServicesDep

router = APIRouter(prefix="/v1", tags=["service"])


@router.get("/links", response_model=dict[str, str], summary="URLs of every UI")
async def links(services: ServicesDep) -> dict[str, str]:
    """Name -> URL (Swagger, Dagster, MinIO console, W&B, Label Studio, Ray dashboard, Triton
    metrics, Optuna dashboard, Gradio), from AGRORISK_BACKEND_LINKS__<NAME> and the public base URL."""
    base = services.settings.public_base_url.rstrip("/")
    return {
        name: url if url.startswith(("http://", "https://")) else f"{base}{url}"
        for name, url in services.settings.links.items()
    }
