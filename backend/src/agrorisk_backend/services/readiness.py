"""Whether the backend can answer, and how well: the local model server is required; Gemini and the
registry are optional (the app works, degraded, without them)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from agrorisk_backend.services.detectors import healthy

if TYPE_CHECKING:
    from agrorisk_backend.api.deps import Services


class Readiness(BaseModel):
    ready: bool
    status: Literal["ok", "degraded", "not_ready"]
    checks: dict[str, str]
    detail: str


async def readiness(services: Services) -> Readiness:
    recognition = services.recognition
    local_ok, gemini, registry_ok = await asyncio.gather(
        healthy(recognition.local), recognition.gemini.state(), services.models.reachable()
    )
    engine = services.settings.engine
    checks = {
        "catalog": f"{len(services.catalog)} risks",
        "local_model": f"{engine}: {'ok' if local_ok else 'unreachable'}",
        "gemini": gemini,
        "registry": "ok" if registry_ok else "unreachable",
    }
    degraded = [name for name in ("gemini", "registry") if checks[name] not in ("ok", "not configured")]
    if not local_ok:
        return Readiness(
            ready=False,
            status="not_ready",
            checks=checks,
            detail=f"the local model server ({engine}) does not answer",
        )
    status = "degraded" if degraded else "ok"
    detail = f"degraded: {', '.join(degraded)}" if degraded else "ready"
    return Readiness(ready=True, status=status, checks=checks, detail=detail)
