"""What every model server (Ray Serve, Triton) runs the detector with; each sets its own env prefix."""

from __future__ import annotations

from pydantic import Field

from agrorisk_common.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from agrorisk_common.settings import AgroRiskSettings
from agrorisk_serving.detector import DetectionParams


class ServerSettings(AgroRiskSettings):
    """The alias a server follows, the detector's thresholds and threads, batching and upload limits."""

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
        description="CPU threads of the runs while a batch holds several images; 0 = the server's share "
        "of the cores (Ray: the cores over the replicas; Triton: over the instances), at least 1",
    )
    max_batch_size: int = Field(default=8, ge=1)
    reload_interval_s: float = Field(
        default=10.0, ge=0, description="how often the server checks the alias; 0 = never"
    )
    max_image_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)
    max_image_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=1)

    def params(self, cores: float, device: str = "cpu") -> DetectionParams:
        """The detector's params on `device`; `cores` (the server's share of the CPU) sets the batch
        threads when BATCH_THREADS is 0."""
        return DetectionParams(
            self.conf_threshold, self.iou_threshold, self.max_detections, self.intra_op_threads, device,
            batch_threads=self.batch_threads or max(1, int(cores)),
        )  # fmt: skip
