"""Settings of dataset-labeling: where the labelled pool lives, labellers, Label Studio, Stable Diffusion."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from agrorisk_common.settings import AgroRiskSettings, service_config

DEFAULT_SD_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"


class Settings(AgroRiskSettings):
    """Every knob has a default that works on a laptop with no services."""

    model_config = service_config("AGRORISK_LABELING_")

    catalog_dir: Path | None = Field(default=None, description="risk catalog folder (default: crawler/risks)")
    manifest: Path = Field(
        default=Path("crawler/download/manifest.csv"),
        description="the pool manifest (crawler contract); images sit in its `images/` sibling",
    )
    dataset_dir: Path = Path("data/dataset")

    labellers: str = Field(
        default="auto",
        description="comma-separated chain tried in order: auto (yolo when a model is set, gemini when "
        "a key is set), yolo, gemini, whole-image (only when named)",
    )
    yolo_model: str = Field(default="", description="best.pt path or a model registry ref (v3, production)")
    yolo_confidence: float = Field(default=0.25, ge=0.0, le=1.0)

    seed: int = 0
    val_fraction: float = Field(default=0.15, ge=0.0, lt=1.0)
    test_fraction: float = Field(default=0.1, ge=0.0, lt=1.0)
    phash_distance: int = Field(default=6, ge=0, le=64, description="max Hamming distance of near-duplicates")
    synthetic_max_share: float = Field(default=0.3, ge=0.0, le=1.0)

    label_studio_url: str = "http://localhost:8080"
    label_studio_api_key: SecretStr = Field(default=SecretStr(""), description="personal access token")
    label_studio_api_key_file: Path | None = Field(
        default=None,
        description="a file holding the token (`make bootstrap` writes one), read when the key is unset",
    )
    label_studio_project: str = "AgroRisk"
    label_studio_files_root: Path | None = Field(
        default=None,
        description="LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT of the server (default: the images folder)",
    )

    sd_model: str = DEFAULT_SD_MODEL
    sd_steps: int = Field(default=30, ge=1)
    sd_guidance: float = Field(default=7.5, ge=0.0)
    sd_size: int = Field(default=512, ge=64, multiple_of=8)
    sd_batch_size: int = Field(default=2, ge=1)
    sd_device: Literal["auto", "cpu", "cuda", "mps"] = "auto"

    @model_validator(mode="after")
    def _key_from_file(self) -> Settings:
        key_file = self.label_studio_api_key_file
        if not self.label_studio_api_key.get_secret_value() and key_file is not None and key_file.is_file():
            self.label_studio_api_key = SecretStr(key_file.read_text(encoding="utf-8").strip())
        return self
