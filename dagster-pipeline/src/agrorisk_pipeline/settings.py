"""Pipeline settings (env prefix `AGRORISK_PIPELINE_`): defaults run the whole flow offline on a laptop."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agrorisk_common.settings import (
    SHARED_BUCKET,
    AgroRiskSettings,
    SharedBucket,
    SharedStore,
    service_config,
)
from agrorisk_serving.detector import DetectionParams, Engine

DataSource = Literal["auto", "public", "procedural", "crawler"]
DEFAULT_RISKS = ["wheat-septoria-leaf-blotch", "wheat-leaf-rust", "wheat-powdery-mildew"]
SERVING = DetectionParams()  # the thresholds Ray and Triton serve with unless told otherwise


class ServingParams(BaseModel):
    """The engine and thresholds predictions are made with: what makes output features comparable."""

    engine: Engine
    conf_threshold: float
    iou_threshold: float
    max_detections: int

    def describe(self) -> str:
        return (
            f"{self.engine} conf {self.conf_threshold:g} IoU {self.iou_threshold:g} max {self.max_detections}"
        )


class Settings(AgroRiskSettings):
    """What the flow works on, where it keeps its files, and the thresholds of its checks."""

    model_config = service_config("AGRORISK_PIPELINE_")

    work_dir: Path = Field(default=Path(".agrorisk/pipeline"), description="pool, datasets, runs, reports")
    data_source: DataSource = Field(
        default="procedural",
        description="public: real labelled photos of a registered data set (agrorisk-label datasets); auto: "
        "public when one covers the risks and can be had here, else drawn leaves (said loudly); procedural: "
        "drawn leaves; crawler: search engines via agrorisk-crawler",
    )
    public_dataset: str = Field(
        default="", description="registered data set to import; empty = the first that covers the risks"
    )
    public_datasets_file: Path | None = Field(
        default=None, description="data set registry file; empty = dataset-labeling's own"
    )
    risk_ids: list[str] = Field(default_factory=lambda: list(DEFAULT_RISKS), description="risks to learn")
    images_per_class: int = Field(default=24, ge=4, description="procedural images per risk")
    procedural_imgsz: int = Field(default=128, ge=32)
    max_per_risk: int = Field(default=100, ge=1, description="crawler: images per risk")
    val_fraction: float | None = Field(
        default=None, ge=0.0, lt=1.0, description="validation share; empty = AGRORISK_LABELING_VAL_FRACTION"
    )
    test_fraction: float | None = Field(
        default=None, ge=0.0, lt=1.0, description="test share; empty = AGRORISK_LABELING_TEST_FRACTION"
    )
    synthetic_target: int = Field(
        default=0, ge=0, description="SD top-up to this many images per risk; 0 = off"
    )

    start_model: str = Field(
        default="yolo11n.pt",
        description="start weights when there is no production model with the same classes to fine-tune "
        "(yolo11n.pt: COCO when reachable, else the starter model, else yolo11n.yaml)",
    )
    starter_model: Path | None = Field(
        default=Path("models/starter/best.pt"),
        description="registered as the first production version while the registry has none; empty = never",
    )
    epochs: int = Field(default=10, ge=1)
    imgsz: int = Field(default=128, ge=32)
    batch: int = Field(default=8, ge=1)
    device: str = "auto"
    plots: bool = Field(default=True, description="training writes PR/confusion plots and batch images")
    tune_trials: int = Field(default=0, ge=0, description="Optuna trials per run; 0 = skip tuning")
    tune_epochs: int = Field(default=2, ge=1)

    gate_margin: float = Field(
        default=0.02, ge=0.0, description="a candidate must beat production's test mAP50 by more than this"
    )
    operating_conf: float = Field(
        default=SERVING.conf_threshold,
        ge=0.0,
        le=1.0,
        description="operating confidence (the server's conf_threshold): P/R/F1 in evaluation, batch "
        "inference and the drift reference; mAP uses 0.001",
    )
    serving_engine: Engine = Field(
        default="onnxruntime", description="the live server's engine (Ray's and Triton's default)"
    )
    serving_iou: float = Field(
        default=SERVING.iou_threshold, gt=0.0, le=1.0, description="the live server's NMS IoU threshold"
    )
    serving_max_detections: int = Field(
        default=SERVING.max_detections, ge=1, description="the live server's detections per image"
    )

    prediction_log_dir: Path = Field(
        default=Path(".agrorisk/prediction-log"), description="backend JSONL log"
    )
    feedback_dir: Path = Field(default=Path(".agrorisk/feedback"), description="backend feedback store")
    shared_store: SharedStore = "local"
    shared_bucket: SharedBucket = SHARED_BUCKET
    retrain_requests_dir: Path = Field(
        default=Path(".agrorisk/retrain-requests"), description="backend's POST /v1/admin/retrain requests"
    )
    inbox_dir: Path = Field(default=Path(".agrorisk/inbox"), description="photos for batch inference")
    drift_share: float = Field(
        default=0.3, gt=0.0, le=1.0, description="dataset drift when this share of columns drifted"
    )
    drift_window: int = Field(default=10_000, ge=10, description="latest logged predictions compared")
    drift_min_rows: int = Field(default=30, ge=1, description="fewer current rows: no verdict")
    pushgateway_url: str = Field(
        default="", description="Prometheus Pushgateway that gets each drift verdict (empty: not pushed)"
    )
    reference_max_images: int = Field(default=300, ge=10)
    feedback_min_new: int = Field(default=5, ge=1, description="new feedback/labels that launch retraining")

    @property
    def serving_params(self) -> ServingParams:
        """What the live server predicts with: batch inference and the drift reference use the same."""
        return ServingParams(
            engine=self.serving_engine,
            conf_threshold=self.operating_conf,
            iou_threshold=self.serving_iou,
            max_detections=self.serving_max_detections,
        )

    @property
    def manifest(self) -> Path:
        """The labelling pool's manifest, with images/ and labels.jsonl beside it (crawler contract layout)."""
        return self.work_dir / "pool" / "manifest.csv"
