"""One error contract: every 4xx/5xx answer is `ErrorBody` — `{"detail": str, "kind": str}` — and
every route documents, with that one schema, the codes it can answer."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from agrorisk_backend.errors import ApiError, public_text
from agrorisk_backend.services.metrics import BackendMetrics
from agrorisk_common.images import ImageRejected

log = logging.getLogger(__name__)

# The kind of a plain HTTP error (Starlette's 404/405, a stray HTTPException) by its status.
KIND_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "not_an_image",
    422: "invalid_request",
    503: "unavailable",
}
_DESCRIPTIONS = {
    400: "the body does not parse: broken JSON or multipart (`bad_request`)",
    401: "missing or wrong X-API-Key header (`unauthorized`; only when a key is configured)",
    403: "refused by configuration: admin routes without an admin key (`admin_key_not_set`), feedback "
    "posted by another site's page (`cross_origin`)",
    404: "no such resource (`not_found`)",
    409: "the registry refused the change (`conflict`)",
    413: "upload too large (`too_large`) or too many pixels (`too_many_pixels`) or files",
    415: "the upload is not an image (`not_an_image`)",
    422: "a field is missing or invalid (`invalid_request`) or the photo is broken (`corrupt`)",
    503: "a dependency it needs does not answer: not ready (`not_ready`), or the registry or the shared store is down (`unavailable`)",
}


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer. A few carry more context beside the two fields
    (`/readyz`'s 503 adds `ready` and `checks`)."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="what went wrong and what to do, for a person")
    kind: str = Field(description="what went wrong, for a program: e.g. not_an_image, invalid_request")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error codes, all with the one `ErrorBody` schema."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


def document_request_errors(spec: dict[str, Any]) -> None:
    """Document in an OpenAPI `spec`, as `ErrorBody`, the refusals FastAPI answers before a route
    runs: 422 on every operation with parameters or a body (in place of FastAPI's own
    `HTTPValidationError`, which we never answer), and 400 on every one with a body that may not parse."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for operations in spec["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            if "requestBody" in operation:
                responses.setdefault("400", _documented(400))
            if "requestBody" in operation or operation.get("parameters"):
                responses["422"] = _documented(422)


def _documented(code: int) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema": schema}}}


def error_json(status_code: int, kind: str, detail: str, **extra: Any) -> JSONResponse:
    """An `ErrorBody` answer; `extra` adds context fields beside `detail` and `kind`."""
    return JSONResponse({**extra, "detail": public_text(detail), "kind": kind}, status_code=status_code)


def validation_detail(exc: RequestValidationError) -> str:
    """FastAPI's list of field errors as one readable line: `body.verdict: Input should be ...`."""
    parts = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":  # its `loc` is a character position, not a field
            parts.append("body: not valid JSON")
            continue
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI, metrics: BackendMetrics) -> None:
    """Answer every refusal and failure of the app as `ErrorBody`, never with a server path."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_json(exc.status, exc.kind, exc.detail)

    @app.exception_handler(ImageRejected)
    async def image_rejected(_request: Request, exc: ImageRejected) -> JSONResponse:
        metrics.rejected_uploads.labels(exc.kind).inc()
        return error_json(exc.status, exc.kind, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_json(422, "invalid_request", validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = KIND_BY_STATUS.get(exc.status_code, "internal" if exc.status_code >= 500 else "bad_request")
        response = error_json(exc.status_code, kind, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, _exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_json(500, "internal", "internal error; see the server log")
