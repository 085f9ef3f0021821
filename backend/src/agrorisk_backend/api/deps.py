"""Shared dependencies of the routes: the app's services, the checked upload, the API keys."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, File, Form, Request, Security, UploadFile
from fastapi.security import APIKeyHeader
from fastapi.types import DecoratedCallable
from pydantic import SecretStr

from agrorisk_backend.api.errors import error_responses
from agrorisk_backend.errors import ApiError
from agrorisk_backend.services.drift_reports import DriftReports
from agrorisk_backend.services.feedback_store import FeedbackStore
from agrorisk_backend.services.jobs import JobManager
from agrorisk_backend.services.metrics import BackendMetrics
from agrorisk_backend.services.model_registry import ModelCatalog
from agrorisk_backend.services.recognition import Recognition
from agrorisk_backend.services.uploads import CheckedImage, check_image_async
from agrorisk_backend.settings import Settings
from agrorisk_common.catalog import CROP_PATTERN, Catalog
from agrorisk_common.images import ACCEPTED_MIME_TYPES, ImageRejected

API_KEY_HEADER = "X-API-Key"
ADMIN_KEY_ENV = "AGRORISK_BACKEND_ADMIN_API_KEY"
_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, scheme_name="APIKey", auto_error=False, description="needed when a key is set"
)
_admin_key_header = APIKeyHeader(
    name=API_KEY_HEADER, scheme_name="AdminKey", auto_error=False, description=f"the {ADMIN_KEY_ENV} secret"
)


@dataclass
class Services:
    """Everything the routes use, built once per app in the lifespan."""

    settings: Settings
    catalog: Catalog
    recognition: Recognition
    jobs: JobManager
    feedback: FeedbackStore
    models: ModelCatalog
    drift: DriftReports
    metrics: BackendMetrics


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def read_upload(upload: UploadFile, services: Services) -> bytes:
    """The upload's bytes, refusing (413) before reading more than the limit."""
    limit = services.settings.max_upload_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        size = upload.size or len(data)
        raise ImageRejected(
            "too_large", f"the file is {size / 1e6:.1f} MB or more; the limit is {limit / 1e6:.1f} MB", 413
        )
    return data


async def checked_upload(
    services: ServicesDep, file: UploadFile = File(description="a photo: JPEG, PNG, WebP, BMP, GIF or TIFF")
) -> CheckedImage:
    """The uploaded photo, decoded and checked (413 too big, 415 not an image, 422 broken)."""
    data = await read_upload(file, services)
    return await check_image_async(data, services.settings.image_limits)


CheckedUpload = Annotated[CheckedImage, Depends(checked_upload)]


def photo_upload(field: str) -> dict:
    """A route's `openapi_extra` naming the image types its multipart `field` takes (the schema
    alone says only "bytes"), so clients and schemathesis know to send photos."""
    encoding = {field: {"contentType": ", ".join(sorted(ACCEPTED_MIME_TYPES))}}
    return {"requestBody": {"content": {"multipart/form-data": {"encoding": encoding}}}}


def photo_route(
    router: APIRouter,
    path: str,
    response_model: type,
    summary: str,
    *,
    errors: tuple[int, ...] = (413, 415),
    **options: Any,
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """`router.post(path)` of a route that takes one photo (`CheckedUpload`), its upload and its
    error answers documented."""
    return router.post(
        path,
        response_model=response_model,
        summary=summary,
        responses=error_responses(*errors),
        openapi_extra=photo_upload("file"),
        **options,
    )


def crop_hint(
    crop: str | None = Form(
        default=None,
        max_length=64,
        description="the photo's crop slug when the grower knows it (e.g. tomato): named in the verdict",
    ),
) -> str | None:
    if crop and not CROP_PATTERN.match(crop):
        raise ApiError(422, "invalid_request", f"crop: {crop!r} is not a crop slug such as winter_wheat")
    return crop or None


CropHint = Annotated[str | None, Depends(crop_hint)]


def _key_matches(given: str | None, expected: SecretStr) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.get_secret_value().encode())


def require_api_key(services: ServicesDep, key: str | None = Security(_api_key_header)) -> None:
    """Open unless AGRORISK_BACKEND_API_KEY is set; then the X-API-Key header must carry it."""
    expected = services.settings.api_key
    if expected is not None and not _key_matches(key, expected):
        raise ApiError(401, "unauthorized", f"missing or wrong {API_KEY_HEADER} header")


def require_same_origin(request: Request, services: ServicesDep) -> None:
    """Without a user key, a browser may post only from this site: an `Origin` header (browsers send
    one on every cross-site POST) must be this server's own, the public base URL's or a CORS origin.
    Requests without `Origin` (curl, the Gradio server, scripts) pass; with a user key the key decides."""
    settings = services.settings
    origin = request.headers.get("origin")
    if settings.api_key is not None or origin is None:
        return
    own = {
        _origin(str(request.base_url)),
        _origin(settings.public_base_url),
        *map(_origin, settings.cors_origins),
    }
    if _origin(origin) not in own - {""}:
        raise ApiError(
            403,
            "cross_origin",
            "feedback from another site is refused: post from this site, or set AGRORISK_BACKEND_API_KEY "
            "and send it in the X-API-Key header (or add the site to AGRORISK_BACKEND_CORS_ORIGINS)",
        )


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL, lower-case; '' for no URL."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def document_api_key(spec: dict, settings: Settings) -> None:
    """Mark the user key optional in an OpenAPI `spec` when the server has none (the routes are open)."""
    if settings.api_key is not None:
        return
    for operations in spec["paths"].values():
        for operation in operations.values():
            security = operation.get("security", [])
            if {"APIKey": []} in security and {} not in security:
                security.insert(0, {})


def require_admin_key(services: ServicesDep, key: str | None = Security(_admin_key_header)) -> None:
    """Closed by default: without an admin key configured, admin routes answer 403 and say how to
    set one; with one, the X-API-Key header must carry it (401 otherwise). The user API key never
    opens them."""
    expected = services.settings.admin_api_key
    if expected is None:
        raise ApiError(
            403,
            "admin_key_not_set",
            f"admin routes are off: set {ADMIN_KEY_ENV} to a secret on the server and send it "
            f"in the {API_KEY_HEADER} header",
        )
    if not _key_matches(key, expected):
        raise ApiError(401, "unauthorized", f"admin route: missing or wrong {API_KEY_HEADER} header")
