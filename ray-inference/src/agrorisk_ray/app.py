"""The Ray Serve application: POST /predict (raw image bytes) with dynamic batching, /healthz, /version.

No `from __future__ import annotations` here: FastAPI must see real types on the Ray-pickled routes.
"""

import asyncio
import logging
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image
from ray import serve
from ray.serve import Application

from agrorisk_common.detection import Prediction
from agrorisk_common.images import ImageRejected, decode_image
from agrorisk_ray.detector import load_detector, predict
from agrorisk_ray.hot_reload import HotModel
from agrorisk_ray.metrics import ServeMetrics
from agrorisk_ray.model_source import ModelSource
from agrorisk_ray.settings import Settings
from agrorisk_storage import StorageSettings

log = logging.getLogger(__name__)

api = FastAPI(
    title="AgroRisk detector (Ray Serve)",
    description="Send a photo as the raw request body to /predict; get the detected crop risks.",
)


def error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": message, "kind": kind}, status_code=status)


@serve.deployment(name="detector")
@serve.ingress(api)
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
        self.detect_batch.set_max_batch_size(self.settings.max_batch_size)
        self.detect_batch.set_batch_wait_timeout_s(self.settings.batch_wait_timeout_s)

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.005)
    async def detect_batch(self, images: list[Image.Image]) -> list[Prediction]:
        detector = self.model.detector  # this batch finishes on it even if a reload swaps meanwhile
        self.metrics.batch_size.observe(len(images))
        return await asyncio.to_thread(predict, detector, images)

    @api.post("/predict", summary="Detect crop risks on one image (raw bytes body)")
    async def predict_route(self, request: Request) -> JSONResponse:
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
            decoded = await asyncio.to_thread(decode_image, data, s.max_image_bytes, s.max_image_pixels)
        except ImageRejected as exc:
            self.metrics.failed(exc.status, exc.kind)
            return error(exc.status, exc.kind, str(exc))
        try:
            prediction = await asyncio.wait_for(self.detect_batch(decoded.image), s.request_timeout_s)
        except TimeoutError:
            self.metrics.failed(504, "timeout")
            return error(504, "timeout", f"inference took longer than {s.request_timeout_s:g} s")
        self.metrics.served(200, (time.perf_counter() - started) * 1000)
        return JSONResponse(prediction.model_dump(mode="json"))

    @api.get("/healthz", summary="200 when a model is loaded and serving")
    async def healthz(self) -> JSONResponse:
        if self.model.detector is None:
            return error(503, "no_model", f"no model loaded: {self.model.last_error or 'loading'}")
        return JSONResponse({"status": "ok", "model_version": self.model.version})

    @api.get("/version", summary="The model version, engine and classes being served")
    async def version(self) -> JSONResponse:
        detector = self.model.detector
        return JSONResponse(
            {
                "model_version": detector.version if detector else None,
                "alias": self.settings.model_alias,
                "engine": self.settings.engine,
                "class_names": list(detector.class_names) if detector else [],
                "reload_error": self.model.last_error,
            }
        )


def build_app(settings: Settings, storage: StorageSettings) -> Application:
    """The deployment bound with its settings, scaled per the replica/autoscaling settings."""
    options: dict = {
        "max_ongoing_requests": settings.max_ongoing_requests,
        "ray_actor_options": {"num_cpus": settings.num_cpus_per_replica},
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
