"""GET /healthz (the process is up), /readyz (dependencies answer), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from agrorisk_backend.api.deps import ServicesDep
from agrorisk_backend.services.detectors import healthy

router = APIRouter(tags=["service"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the local model server, Gemini and the registry")
async def readyz(services: ServicesDep) -> JSONResponse:
    """503 unless the local model server answers; Gemini and the registry are reported, since the
    app still works (degraded) without them."""
    recognition = services.recognition
    local_ok, gemini_ok, registry_ok = await asyncio.gather(
        healthy(recognition.local), healthy(recognition.gemini), services.models.reachable()
    )
    checks = {
        "catalog": f"{len(services.catalog)} risks",
        "local_model": f"{services.settings.engine}: {'ok' if local_ok else 'unreachable'}",
        "gemini": "ok" if gemini_ok else "not configured or unreachable",
        "registry": "ok" if registry_ok else "unreachable",
    }
    return JSONResponse({"ready": local_ok, "checks": checks}, status_code=200 if local_ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    services.metrics.jobs_running.set(services.jobs.running)
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
