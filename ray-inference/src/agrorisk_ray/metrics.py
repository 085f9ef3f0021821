"""Prometheus metrics of the detector replicas, exported through Ray's metrics agent
(scrape `http://<node>:<metrics_port>/metrics`; names are prefixed `ray_`)."""

from __future__ import annotations

from ray.serve import metrics

LATENCY_BOUNDARIES_MS: list[float] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
BATCH_BOUNDARIES: list[float] = [1, 2, 4, 8, 16, 32, 64]


class ServeMetrics:
    """Requests by outcome, errors by kind, latency and batch-size histograms, served model version."""

    def __init__(self) -> None:
        self.requests = metrics.Counter(
            "agrorisk_requests_total", description="Detection requests by HTTP status.", tag_keys=("status",)
        )
        self.errors = metrics.Counter(
            "agrorisk_errors_total", description="Failed detection requests by reason.", tag_keys=("kind",)
        )
        self.latency = metrics.Histogram(
            "agrorisk_request_latency_ms",
            description="End-to-end latency of /predict inside the replica.",
            boundaries=LATENCY_BOUNDARIES_MS,
        )
        self.batch_size = metrics.Histogram(
            "agrorisk_batch_size", description="Images per model call.", boundaries=BATCH_BOUNDARIES
        )
        self.model_version = metrics.Gauge(
            "agrorisk_model_version_info",
            description="1 for the model version being served.",
            tag_keys=("version",),
        )
        self.reloads = metrics.Counter(
            "agrorisk_model_reloads_total", description="Model swaps by outcome.", tag_keys=("outcome",)
        )

    def served(self, status: int, latency_ms: float) -> None:
        self.requests.inc(tags={"status": str(status)})
        self.latency.observe(latency_ms)

    def failed(self, status: int, kind: str) -> None:
        self.requests.inc(tags={"status": str(status)})
        self.errors.inc(tags={"kind": kind})

    def switched(self, old: str | None, new: str) -> None:
        if old:
            self.model_version.set(0, tags={"version": old})
        self.model_version.set(1, tags={"version": new})
