"""Settings of training, fine-tuning, tuning and export (env prefix `AGRORISK_TRAIN_`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from agrorisk_common.settings import AgroRiskSettings, service_config

ModelSize = Literal["n", "s", "m", "l", "x"]
WandbMode = Literal["auto", "online", "offline", "disabled"]


class TrainSettings(AgroRiskSettings):
    """How to train YOLO11 on this machine, where runs go, and where they are tracked."""

    model_config = service_config("AGRORISK_TRAIN_")

    model_size: ModelSize = Field(default="n", description="YOLO11 size: n, s, m, l or x.")
    model: str | None = Field(
        default=None,
        description="Start weights: a .pt path, an Ultralytics name (yolo11s.pt), an architecture yaml, "
        "or 'registry:<version|alias>'. Empty = pretrained yolo11<size>.pt, else yolo11<size>.yaml.",
    )
    weights_dir: Path = Field(
        default=Path(".agrorisk/weights"),
        description="Folder with Ultralytics' COCO-pretrained weights (yolo11n.pt …); downloads land here.",
    )
    starter_model: Path | None = Field(
        default=Path("models/starter/best.pt"),
        description="Start when the COCO weights are unreachable: the project's starter model (real photos).",
    )
    epochs: int = Field(default=50, ge=1)
    imgsz: int = Field(default=640, ge=32, description="Square training image size, pixels.")
    batch: int = Field(default=16, ge=1)
    device: str = Field(
        default="auto", description="'auto' (CUDA when present, else CPU), 'cpu', '0', '0,1'."
    )
    workers: int = Field(default=2, ge=0, description="Dataloader worker processes.")
    seed: int = Field(default=0)
    patience: int = Field(default=20, ge=0, description="Early stopping: epochs without improvement.")
    optimizer: str = Field(default="auto", description="Ultralytics optimizer name (auto, SGD, AdamW, …).")
    project_dir: Path = Field(default=Path("runs"), description="Where training runs are written.")
    config_dir: Path = Field(
        default=Path.home() / ".cache" / "agrorisk" / "ultralytics",
        description="YOLO_CONFIG_DIR: Ultralytics settings and the offline font live here.",
    )
    plots: bool = Field(default=True, description="Write PR/confusion plots and batch images.")
    machine_price_per_hour_usd: float = Field(
        default=0.10,
        ge=0.0,
        description="Hourly price of the machine that serves the model: evaluation turns measured "
        "inference time into cost per 1,000 images with it (0.10 ≈ a 2-vCPU cloud VM).",
    )

    wandb_project: str = Field(default="agrorisk-yolo")
    wandb_entity: str | None = Field(default=None)
    wandb_mode: WandbMode = Field(
        default="auto", description="auto = online when WANDB_API_KEY is set, else offline (sync later)."
    )
    wandb_sample_images: int = Field(
        default=8, ge=0, description="Validation images logged with predictions."
    )

    optuna_storage: str = Field(default="sqlite:///runs/optuna.db", description="Optuna storage URL.")
    optuna_study: str = Field(default="agrorisk-yolo")
    tune_trials: int = Field(default=20, ge=1)
    tune_epochs: int = Field(default=10, ge=1, description="Epochs per Optuna trial.")
    tune_imgsz_choices: list[int] = Field(default=[320, 416, 512, 640])
    tune_batch_choices: list[int] = Field(default=[8, 16, 32])
    tune_pruner_warmup_epochs: int = Field(
        default=2, ge=0, description="Epochs before a trial may be pruned."
    )

    replay_fraction: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Fine-tuning: share of old training images mixed in."
    )
    freeze: int | None = Field(default=None, ge=0, description="Fine-tuning: freeze the first N layers.")

    export_atol: float = Field(
        default=1e-2, gt=0, description="Largest |ONNX - PyTorch| raw-output difference accepted."
    )

    git_commit: str | None = Field(
        default=None,
        description="Code commit recorded with models when not run from a git checkout (images).",
    )

    @property
    def default_model(self) -> str:
        return f"yolo11{self.model_size}.pt"
