"""The FastAPI app: routers, middleware, error handlers and the lifespan that builds the services."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware

from agrorisk_backend import __doc__ as description
from agrorisk_backend.api.deps import (
    ADMIN_KEY_ENV,
    Services,
    document_api_key,
    require_admin_key,
    require_api_key,
)
from agrorisk_backend.api.errors import document_request_errors, error_responses, install_error_handlers
from agrorisk_backend.api.routes import (
    admin,
    compare,
    drift,
    feedback,
    gemini,
    health,
    jobs,
    links,
    models,
    predict,
    risks,
)
from agrorisk_backend.services.detectors import build_gemini_detector, build_local_detector
from agrorisk_backend.services.drift_reports import DriftReports
from agrorisk_backend.services.job_store import JobStore
from agrorisk_backend.services.jobs import JobManager
from agrorisk_backend.services.metrics import BackendMetrics
from agrorisk_backend.services.model_registry import ModelCatalog
from agrorisk_backend.services.recognition import Recognition
from agrorisk_backend.services.shared_store import open_shared_stores
from agrorisk_backend.services.verdicts import VerdictRule
from agrorisk_backend.settings import Settings
from agrorisk_common.catalog import Catalog, load_catalog
from agrorisk_gemini.settings import GeminiSettings
from agrorisk_storage import StorageSettings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    gemini_settings: GeminiSettings | None = None,
    storage_settings: StorageSettings | None = None,
) -> FastAPI:
    """The backend app; settings default to the environment (AGRORISK_BACKEND_/GEMINI_/STORAGE_)."""
    settings = settings or Settings()
    gemini_settings = gemini_settings or GeminiSettings()
    storage_settings = storage_settings or StorageSettings()
    metrics = BackendMetrics()
    catalog = load_catalog()  # a broken catalog stops the start with its file, line and reason

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = _build_services(settings, gemini_settings, storage_settings, catalog, metrics)
        app.state.services = services
        await services.jobs.start()
        log.info(
            "backend ready: engine %s, Gemini %s, %d risks, logs in %s",
            settings.engine,
            "configured" if gemini_settings.configured else "not configured",
            len(services.catalog),
            settings.data_dir,
        )
        if settings.admin_api_key is None:
            log.info("admin routes answer 403 until %s is set", ADMIN_KEY_ENV)
        try:
            yield
        finally:
            await services.jobs.aclose()
            await services.recognition.local.aclose()
            await services.recognition.gemini.aclose()

    app = FastAPI(
        title="AgroRisk API",
        description=description or "",
        version="0.1.0",
        lifespan=lifespan,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.requests.labels(template, str(response.status_code)).inc()
        metrics.request_seconds.labels(template).observe(time.perf_counter() - started)
        return response

    install_error_handlers(app, metrics)
    for module in (predict, gemini, compare, jobs, risks, models, drift, feedback, links):
        app.include_router(
            module.router, dependencies=[Depends(require_api_key)], responses=error_responses(401)
        )
    app.include_router(
        admin.router, dependencies=[Depends(require_admin_key)], responses=error_responses(401, 403)
    )
    app.include_router(health.router)
    plain_openapi = app.openapi

    def openapi() -> dict:
        """FastAPI's schema, plus what FastAPI cannot know: its own refusals as `ErrorBody`, and
        whether this server asks for the user key."""
        spec = plain_openapi()
        document_request_errors(spec)
        document_api_key(spec, settings)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _build_services(
    settings: Settings,
    gemini_settings: GeminiSettings,
    storage_settings: StorageSettings,
    catalog: Catalog,
    metrics: BackendMetrics,
) -> Services:
    stores = open_shared_stores(settings, storage_settings)
    recognition = Recognition(
        catalog=catalog,
        local=build_local_detector(settings),
        gemini=build_gemini_detector(settings, gemini_settings, catalog),
        prediction_log=stores.prediction_log,
        metrics=metrics,
        local_timeout_s=settings.request_timeout_s,
        iou_threshold=settings.iou_threshold,
        verdict_rule=VerdictRule(settings.conf_threshold, settings.unsure_floor),
    )
    breaker = getattr(recognition.gemini, "breaker", None)
    if breaker is not None:
        metrics.watch_breaker(breaker.blocked)
    jobs = JobManager(
        JobStore(settings.jobs_database),
        recognition,
        settings.data_dir / "jobs",
        settings.jobs_concurrency,
        settings.image_limits,
    )
    return Services(
        settings=settings,
        catalog=catalog,
        recognition=recognition,
        jobs=jobs,
        feedback=stores.feedback,
        models=ModelCatalog(storage_settings, settings.wandb_url),
        drift=DriftReports(storage_settings, settings.shared_bucket),
        metrics=metrics,
    )
