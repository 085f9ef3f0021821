"""The Ray Serve application: POST /predict (raw image bytes) with dynamic batching, /healthz, /version.

A plain `__call__` on Starlette requests rather than a FastAPI ingress: on a small machine the ASGI
framework's per-request work is a measurable share of the proxy-to-replica round trip.
"""

import asyncio
import logging
import time

from ray import serve
from ray.serve import Application
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agrorisk_common.detection import Prediction
from agrorisk_common.images import ImageRejected
from agrorisk_ray.batching import WhenFree
from agrorisk_ray.metrics import ServeMetrics
from agrorisk_ray.settings import Settings
from agrorisk_serving.detector import decode_and_predict, load_detector
from agrorisk_serving.hot_reload import HotModel
from agrorisk_serving.model_source import ModelSource
from agrorisk_storage import StorageSettings

log = logging.getLogger(__name__)

ROUTES = {"/predict": "POST", "/healthz": "GET", "/version": "GET"}


def error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": message, "kind": kind}, status_code=status)


@serve.deployment(name="detector")
class DetectorDeployment:
    """One replica: the current model version, a batching queue, and a thread watching the alias."""

    def __init__(self, settings: dict, storage: dict):
        self.settings = Settings.model_validate(settings)
        self.metrics = ServeMetrics()
        source = ModelSource.from_settings(StorageSettings.model_validate(storage), self.settings.model_alias)
        self.model = HotModel(
            source,
            lambda version: load_detector(version, self.settings.engine, self.settings.detection_params),
            on_swap=self.metrics.switched,
        )
        self.model.check()
        if self.settings.reload_interval_s:
            self.model.watch(self.settings.reload_interval_s)
        self.batcher = WhenFree(
            self.detect_batch, self.settings.max_batch_size, self.settings.batch_wait_timeout_s
        )

    async def __call__(self, request: Request) -> Response:
        path = request.url.path.rstrip("/") or "/"
        method = ROUTES.get(path)
        if method is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        if request.method != method:
            return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"allow": method})
        if path == "/predict":
            return await self.predict_route(request)
        return self.healthz() if path == "/healthz" else self.version()

    async def detect_batch(self, bodies: list[bytes]) -> list[Prediction | ImageRejected]:
        detector = self.model.detector  # this batch finishes on it even if a reload swaps meanwhile
        if detector is None:  # predict_route answers 503 before queueing; a model is never unloaded
            raise RuntimeError("no model loaded")
        self.metrics.batch_size.observe(len(bodies))
        s = self.settings
        return await asyncio.to_thread(
            decode_and_predict, detector, bodies, s.max_image_bytes, s.max_image_pixels
        )

    async def predict_route(self, request: Request) -> Response:
        """Detect crop risks on one image (raw bytes body)."""
        started = time.perf_counter()
        s = self.settings
        declared = int(request.headers.get("content-length") or 0)
        if declared > s.max_image_bytes:
            self.metrics.failed(413, "too_large")
            return error(
                413, "too_large", f"the file is larger than the {s.max_image_bytes / 1e6:.1f} MB limit"
            )
        if self.model.detector is None:
            self.metrics.failed(503, "no_model")
            return error(503, "no_model", f"no model loaded yet: {self.model.last_error or 'loading'}")
        data = await request.body()
        try:
            result = await asyncio.wait_for(self.batcher(data), s.request_timeout_s)
        except TimeoutError:
            self.metrics.failed(504, "timeout")
            return error(504, "timeout", f"inference took longer than {s.request_timeout_s:g} s")
        if isinstance(result, ImageRejected):
            self.metrics.failed(result.status, result.kind)
            return error(result.status, result.kind, str(result))
        self.metrics.served(200, (time.perf_counter() - started) * 1000)
        # pydantic's own serializer: the same compact JSON as JSONResponse, without the dict round trip
        return Response(result.model_dump_json(), media_type="application/json")

    def healthz(self) -> JSONResponse:
        """200 when a model is loaded and serving."""
        if self.model.detector is None:
            return error(503, "no_model", f"no model loaded: {self.model.last_error or 'loading'}")
        return JSONResponse({"status": "ok", "model_version": self.model.version})

    def version(self) -> JSONResponse:
        """The model version, engine, device and classes being served."""
        detector = self.model.detector
        return JSONResponse(
            {
                "model_version": detector.version if detector else None,
                "alias": self.settings.model_alias,
                "engine": self.settings.engine,
                "device": detector.device if detector else None,
                "class_names": list(detector.class_names) if detector else [],
                "reload_error": self.model.last_error,
            }
        )


def build_app(settings: Settings, storage: StorageSettings) -> Application:
    """The deployment bound with its settings, scaled per the replica/autoscaling settings."""
    options: dict = {
        "max_ongoing_requests": settings.max_ongoing_requests,
        "ray_actor_options": {
            "num_cpus": settings.num_cpus_per_replica,
            "num_gpus": settings.num_gpus_per_replica,
        },
    }
    if settings.autoscaling:
        options["autoscaling_config"] = {
            "min_replicas": settings.min_replicas,
            "max_replicas": settings.max_replicas,
            "target_ongoing_requests": settings.target_ongoing_requests,
        }
    else:
        options["num_replicas"] = settings.num_replicas
    # Python-mode dumps keep SecretStr objects, so the storage secret reaches the replicas unmasked.
    return DetectorDeployment.options(**options).bind(settings.model_dump(), storage.model_dump())
