"""Triton settings (`AGRORISK_TRITON_*`): the local PyTriton server, the repository generator, the client."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field

from agrorisk_common.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from agrorisk_common.settings import AgroRiskSettings, service_config
from agrorisk_serving.detector import DetectionParams


class Settings(AgroRiskSettings):
    """Which model version to serve, how Triton batches it, and where clients find Triton."""

    model_config = service_config("AGRORISK_TRITON_")

    model_alias: str = "production"
    conf_threshold: float = Field(default=0.25, ge=0.0, le=1.0)
    iou_threshold: float = Field(default=0.45, ge=0.0, le=1.0)
    max_detections: int = Field(default=100, ge=1)
    intra_op_threads: int = Field(
        default=0, ge=0, description="ONNX Runtime threads of a lone image; 0 = all cores"
    )
    batch_threads: int = Field(
        default=0,
        ge=0,
        description="CPU threads of an instance's runs while its batch holds several images; "
        "0 = the cores shared out among the instances (at least 1)",
    )

    max_batch_size: int = Field(default=8, ge=1)
    max_queue_delay_us: int = Field(default=0, ge=0, description="batcher wait; 0 = batch what is queued")
    instances: int = Field(default=2, ge=1, description="model instances (instance_group count)")
    instance_kind: Literal["KIND_CPU", "KIND_GPU"] = "KIND_CPU"
    reload_interval_s: float = Field(
        default=10.0, ge=0, description="how often the server checks the alias; 0 = never"
    )
    max_image_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)
    max_image_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=1)

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
        return DetectionParams(
            self.conf_threshold, self.iou_threshold, self.max_detections, self.intra_op_threads,
            batch_threads=self.batch_threads or max(1, len(os.sched_getaffinity(0)) // self.instances),
        )  # fmt: skip
