"""GET /healthz (the process is up), /readyz (dependencies answer), /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from agrorisk_backend.api.deps import ServicesDep
from agrorisk_backend.api.errors import error_json, error_responses
from agrorisk_backend.services.readiness import readiness

router = APIRouter(tags=["service"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the local model server, Gemini and the registry",
    responses=error_responses(503),
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """200 `{"ready": true, "status": "ok" | "degraded", "checks"}` while the local model server
    answers — `degraded` when Gemini is configured but unavailable (failing, or its circuit breaker
    open) or the registry does not answer; 503 with `detail`/`kind` `not_ready` (and the same
    `checks`) when the local model server does not."""
    report = await readiness(services)
    if not report.ready:
        return error_json(503, "not_ready", report.detail, **report.model_dump(exclude={"detail"}))
    return JSONResponse(report.model_dump(exclude={"detail"}))


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    services.metrics.jobs_running.set(services.jobs.running)
    return Response(services.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
