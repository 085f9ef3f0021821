"""Prometheus metrics of one app instance (its own registry, so tests can build many apps)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from agrorisk_common.detection import Prediction

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class BackendMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        counter = functools.partial(Counter, registry=self.registry)
        gauge = functools.partial(Gauge, registry=self.registry)
        latency = functools.partial(Histogram, buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.requests = counter(
            "agrorisk_http_requests", "HTTP requests by route and status", ["route", "status"]
        )
        self.request_seconds = latency("agrorisk_http_request_seconds", "HTTP request time", ["route"])
        self.predictions = counter(
            "agrorisk_predictions", "Predictions by source and outcome", ["source", "outcome"]
        )
        self.prediction_seconds = latency("agrorisk_prediction_seconds", "Recogniser latency", ["source"])
        self.detections = counter("agrorisk_detections", "Detected risks by source", ["source"])
        self.cost_usd = counter("agrorisk_cost_usd", "Money spent on paid recognisers", ["source"])
        self.rejected_uploads = counter("agrorisk_rejected_uploads", "Uploads refused, by reason", ["kind"])
        self.agreement = Histogram(
            "agrorisk_compare_agreement",
            "Agreement of local model and Gemini",
            buckets=(0, 0.25, 0.5, 0.75, 1),
            registry=self.registry,
        )
        self.jobs_running = gauge("agrorisk_jobs_running", "Batch jobs in progress")
        self.gemini_breaker_open = gauge(
            "agrorisk_gemini_breaker_open", "1 while Gemini's circuit breaker refuses calls"
        )
        self.model_info = gauge(
            "agrorisk_model_info",
            "The model version that answered last, per source (value 1)",
            ["source", "version"],
        )
        self._versions: dict[str, str] = {}

    def watch_breaker(self, blocked: Callable[[], str | None]) -> None:
        """Read the breaker's state at each scrape: `blocked()` is its refusal reason or None."""
        self.gemini_breaker_open.set_function(lambda: float(blocked() is not None))

    def observe(self, prediction: Prediction) -> None:
        outcome = "error" if prediction.error else "ok"
        self.predictions.labels(prediction.source, outcome).inc()
        if prediction.latency_ms is not None:
            self.prediction_seconds.labels(prediction.source).observe(prediction.latency_ms / 1000)
        self.detections.labels(prediction.source).inc(len(prediction.detections))
        if prediction.cost_usd:
            self.cost_usd.labels(prediction.source).inc(prediction.cost_usd)
        version = prediction.model_version
        if version and self._versions.get(prediction.source) != version:
            if prediction.source in self._versions:
                self.model_info.remove(prediction.source, self._versions[prediction.source])
            self._versions[prediction.source] = version
            self.model_info.labels(prediction.source, version).set(1)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
