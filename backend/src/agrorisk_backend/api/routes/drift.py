"""GET /v1/drift: the latest drift verdict; GET /v1/drift/report: its Evidently HTML report."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from agrorisk_backend.api.deps import ServicesDep
from agrorisk_backend.api.errors import error_responses
from agrorisk_common.drift_summary import DriftSummary

router = APIRouter(prefix="/v1", tags=["models"])
# Evidently's page runs its own scripts: in a sandbox (an opaque origin), they never reach this API.
SANDBOX = {"Content-Security-Policy": "sandbox allow-scripts", "X-Content-Type-Options": "nosniff"}


@router.get(
    "/drift", response_model=DriftSummary, summary="Latest drift verdict", responses=error_responses(404, 503)
)
async def drift(services: ServicesDep) -> DriftSummary:
    """What the pipeline's last drift run found: the verdict, the drifted features (inputs such as
    brightness, outputs such as n_boxes), and what was compared with what."""
    return await services.drift.summary()


@router.get(
    "/drift/report",
    response_class=Response,  # errors stay documented as JSON; the 200 is the HTML page
    summary="Evidently report of the latest drift run",
    responses={
        200: {
            "description": "Evidently's HTML page",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    }
    | error_responses(404, 503),
)
async def drift_report(services: ServicesDep) -> HTMLResponse:
    """Evidently's HTML report of the latest drift run, per feature with its test and distributions."""
    return HTMLResponse(await services.drift.html(), headers=SANDBOX)
