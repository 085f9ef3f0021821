"""Ask the local model, Gemini or both about one checked photo; log and count every answer."""

from __future__ import annotations

import asyncio
import uuid

from agrorisk_backend.api.schemas import CompareResult, PredictionResult
from agrorisk_backend.services.detectors import predict_safely
from agrorisk_backend.services.gemini_guard import GuardedGemini
from agrorisk_backend.services.metrics import BackendMetrics
from agrorisk_backend.services.prediction_log import PredictionLog
from agrorisk_backend.services.results import compare_result, prediction_result
from agrorisk_backend.services.uploads import CheckedImage
from agrorisk_backend.services.verdicts import VerdictRule
from agrorisk_common.catalog import Catalog
from agrorisk_common.detection import Prediction
from agrorisk_common.serving import DetectorClient

# Gemini keeps its own total deadline (GuardedGemini); this outer one only backs it up.
_BACKSTOP_S = 1.0


class Recognition:
    """The recognisers plus everything that happens around each call (timeouts, log, metrics)."""

    def __init__(
        self,
        catalog: Catalog,
        local: DetectorClient,
        gemini: GuardedGemini,
        prediction_log: PredictionLog,
        metrics: BackendMetrics,
        local_timeout_s: float,
        iou_threshold: float,
        verdict_rule: VerdictRule,
    ):
        self.catalog = catalog
        self.local, self.gemini = local, gemini
        self.prediction_log = prediction_log
        self.metrics = metrics
        self.local_timeout_s = local_timeout_s
        self.iou_threshold = iou_threshold
        self.verdict_rule = verdict_rule

    async def ask_local(self, image: CheckedImage) -> Prediction:
        return await self._ask(self.local, image, self.local_timeout_s)

    async def ask_gemini(self, image: CheckedImage) -> Prediction:
        return await self._ask(self.gemini, image, self.gemini.deadline_s + _BACKSTOP_S)

    async def predict(
        self, image: CheckedImage, use_gemini: bool, crop: str | None = None
    ) -> PredictionResult:
        request_id = uuid.uuid4().hex
        prediction = await (self.ask_gemini(image) if use_gemini else self.ask_local(image))
        await self.log(request_id, image, [prediction])
        return prediction_result(prediction, request_id, self.catalog, self.verdict_rule, crop)

    async def compare(self, image: CheckedImage, crop: str | None = None) -> CompareResult:
        """Both recognisers at once; a failure of one leaves the other's answer intact, and a down
        Gemini costs at most its deadline (nothing while its circuit breaker is open)."""
        request_id = uuid.uuid4().hex
        local, gemini = await asyncio.gather(self.ask_local(image), self.ask_gemini(image))
        result = compare_result(
            local, gemini, request_id, self.catalog, self.iou_threshold, self.verdict_rule, crop
        )
        if result.agreement is not None:
            self.metrics.agreement.observe(result.agreement)
        await self.log(request_id, image, [local, gemini])
        return result

    async def log(self, request_id: str, image: CheckedImage, predictions: list[Prediction]) -> None:
        """The answers about one photo into the prediction log the drift monitor reads."""
        await self.prediction_log.record(
            request_id=request_id,
            image=image.model_bytes,
            mime_type=image.model_mime_type,
            features=image.features,
            predictions=predictions,
        )

    async def _ask(self, detector: DetectorClient, image: CheckedImage, timeout_s: float) -> Prediction:
        prediction = await predict_safely(detector, image.model_bytes, timeout_s)
        if prediction.image_width is None or image.decoded.reduced:
            prediction = prediction.model_copy(
                update={"image_width": image.decoded.width, "image_height": image.decoded.height}
            )
        self.metrics.observe(prediction)
        return prediction
