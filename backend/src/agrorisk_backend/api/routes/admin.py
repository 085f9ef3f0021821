"""Admin routes (API key): promote a model version, ask the pipeline to retrain."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel, Field

from agrorisk_backend.api.deps import ServicesDep
from agrorisk_backend.api.errors import error_responses
from agrorisk_backend.errors import ApiError
from agrorisk_backend.services.model_registry import ModelVersionOut
from agrorisk_storage import RegistryError

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class PromoteIn(BaseModel):
    version: str = Field(description="v3, 3 or an alias", min_length=1, max_length=64)
    alias: str = Field(default="production", pattern=r"^[a-z][a-z0-9_-]{0,31}$")


class RetrainIn(BaseModel):
    reason: str = Field(default="requested from the API", max_length=500)


class RetrainRequest(BaseModel):
    id: str
    created_at: str
    reason: str
    file: str = Field(description="the request file, relative to the backend's data folder")


@router.post(
    "/promote",
    response_model=ModelVersionOut,
    summary="Point an alias at a model version",
    responses=error_responses(404, 409),
)
async def promote(body: PromoteIn, services: ServicesDep) -> ModelVersionOut:
    """The serving engines pick the new production version up by hot reload."""
    try:
        return await services.models.promote(body.version, body.alias)
    except RegistryError as exc:
        status, kind = (404, "not_found") if str(exc).startswith("no ") else (409, "conflict")
        raise ApiError(status, kind, str(exc)) from None


@router.post(
    "/retrain",
    response_model=RetrainRequest,
    status_code=202,
    summary="Ask the pipeline to retrain",
)
async def retrain(body: RetrainIn, services: ServicesDep) -> RetrainRequest:
    """Writes a retrain request file; the Dagster sensor `retrain_on_request` launches the `retrain` job."""
    now = datetime.now(UTC)
    request_id = uuid.uuid4().hex
    # Names sort by time (to the microsecond): the sensor's cursor is the newest name it handled.
    settings = services.settings
    path = settings.retrain_requests_dir / f"{now:%Y%m%dT%H%M%S%fZ}-{request_id}.json"
    payload = {"id": request_id, "created_at": now.isoformat(), "reason": body.reason}
    await asyncio.to_thread(_write_json, path, payload)
    return RetrainRequest(**payload, file=path.relative_to(settings.data_dir).as_posix())


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    tmp.replace(path)
