"""The two recognisers the backend asks: the local model (Ray Serve or Triton) and Gemini."""

from __future__ import annotations

import asyncio
import logging
import time

from agrorisk_backend.errors import public_text
from agrorisk_backend.services.gemini_guard import CircuitBreaker, GuardedGemini
from agrorisk_backend.settings import Settings
from agrorisk_common.catalog import Catalog
from agrorisk_common.detection import Prediction
from agrorisk_common.serving import DetectorClient
from agrorisk_gemini.client import GeminiDetector
from agrorisk_gemini.settings import GeminiSettings

log = logging.getLogger(__name__)


def build_local_detector(settings: Settings) -> DetectorClient:
    """The serving client for the configured engine (`AGRORISK_BACKEND_ENGINE`)."""
    if settings.engine == "triton":
        from agrorisk_serving.triton_client import TritonDetectorClient

        return TritonDetectorClient(
            settings.triton_url,
            protocol=settings.triton_protocol,
            timeout_s=settings.request_timeout_s,
            model_name=settings.triton_model,
        )
    from agrorisk_serving.ray_client import RayDetectorClient

    return RayDetectorClient(settings.ray_url, timeout_s=settings.request_timeout_s)


def build_gemini_detector(
    settings: Settings, gemini_settings: GeminiSettings, catalog: Catalog
) -> GuardedGemini:
    """Gemini as a detector behind the backend's total deadline and circuit breaker; without a key
    its predictions say 'Gemini is not configured'."""
    breaker = CircuitBreaker(settings.gemini_breaker_failures, settings.gemini_breaker_open_s)
    return GuardedGemini(GeminiDetector(gemini_settings, catalog), settings.gemini_timeout_s, breaker)


async def predict_safely(detector: DetectorClient, image: bytes, timeout_s: float) -> Prediction:
    """The detector's prediction, or a Prediction whose `error` says why there is none — never raises,
    so one failing recogniser cannot sink a comparison or a job."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            prediction = await detector.predict(image)
        if prediction.error:
            prediction = prediction.model_copy(update={"error": public_text(prediction.error)})
        return prediction
    except TimeoutError:
        error = f"{detector.name} did not answer within {timeout_s:.0f} s"
    except Exception as exc:  # a client bug must degrade one side, not the request
        log.exception("%s failed", detector.name)
        error = f"{detector.name} failed: {type(exc).__name__}: {exc}"
    return Prediction(
        source=detector.name, latency_ms=(time.perf_counter() - started) * 1000, error=public_text(error)
    )


async def healthy(detector: DetectorClient, timeout_s: float = 5.0) -> bool:
    try:
        async with asyncio.timeout(timeout_s):
            return bool(await detector.health())
    except Exception:  # any failure of a health probe means "not ready"
        return False
