"""Triton settings (`AGRORISK_TRITON_*`): the local PyTriton server, the repository generator, the client."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from agrorisk_common.settings import service_config
from agrorisk_serving.detector import DetectionParams, cpu_count
from agrorisk_serving.server_settings import ServerSettings


class Settings(ServerSettings):
    """Which model version to serve, how Triton batches it, and where clients find Triton."""

    model_config = service_config("AGRORISK_TRITON_")

    max_queue_delay_us: int = Field(default=0, ge=0, description="batcher wait; 0 = batch what is queued")
    instances: int = Field(default=2, ge=1, description="model instances (instance_group count)")
    instance_kind: Literal["KIND_CPU", "KIND_GPU"] = "KIND_CPU"

    host: str = "127.0.0.1"
    # 81xx, not Triton's usual 800x: Ray Serve listens on 8000 when both run on one machine.
    http_port: int = Field(default=8100, ge=0, le=65535)
    grpc_port: int = Field(default=8101, ge=0, le=65535)
    metrics_port: int = Field(default=8102, ge=0, le=65535)
    repository_dir: Path = Path(".agrorisk/triton-repository")

    url: str = Field(
        default="127.0.0.1:8100",
        description="where clients reach Triton: host:port (HTTP or gRPC port); NVIDIA's container: 8000",
    )
    protocol: Literal["http", "grpc"] = "http"
    request_timeout_s: float = Field(default=30.0, gt=0)

    @property
    def detection_params(self) -> DetectionParams:
        return self.params(cpu_count() / self.instances)
