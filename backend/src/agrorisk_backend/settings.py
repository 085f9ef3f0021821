"""Backend settings: env prefix AGRORISK_BACKEND_, defaults that work on a laptop with no services."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from agrorisk_backend.services.uploads import ImageLimits
from agrorisk_common.settings import (
    SHARED_BUCKET,
    AgroRiskSettings,
    SharedBucket,
    SharedStore,
    service_config,
)

# Every UI behind the nginx gateway, by the path nginx serves it on (docker-compose.yml).
DEFAULT_LINKS: dict[str, str] = {
    "gradio": "/",
    "swagger": "/docs",
    "dagster": "/dagster/",
    "minio_console": "/minio/",
    "wandb": "/wandb/",
    "label_studio": "/label-studio/",
    "ray_dashboard": "/ray/",
    "triton_metrics": "/triton/metrics",
    "optuna_dashboard": "/optuna/",
    "prometheus": "/prometheus/",
    "grafana": "/grafana/",
}


class Settings(AgroRiskSettings):
    """Everything the backend needs to know; built once in the CLI or the app factory."""

    model_config = service_config("AGRORISK_BACKEND_")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

    engine: Literal["ray", "triton"] = Field(default="ray", description="which local model server to ask")
    ray_url: str = "http://127.0.0.1:8000"
    triton_url: str = Field(
        default="127.0.0.1:8100", description="host:port of Triton's HTTP or gRPC endpoint"
    )
    triton_protocol: Literal["http", "grpc"] = "http"
    triton_model: str = "agrorisk_detector"
    request_timeout_s: float = Field(default=30.0, gt=0, description="timeout for calls to the model servers")
    gemini_timeout_s: float = Field(
        default=10.0, gt=0, description="total deadline of one Gemini call, retries and queueing included"
    )
    gemini_breaker_failures: int = Field(
        default=3, ge=1, description="Gemini failures in a row that open its circuit breaker"
    )
    gemini_breaker_open_s: float = Field(
        default=30.0,
        gt=0,
        description="seconds the open breaker answers for Gemini at once, without calling it",
    )
    conf_threshold: float = Field(
        default=0.25, ge=0, le=1, description="operating threshold: a risk at or above it is found"
    )
    unsure_floor: float = Field(
        default=0.10, ge=0, le=1, description="a risk between this and conf_threshold: the model is unsure"
    )

    max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_pixels: int = Field(default=50_000_000, gt=0)
    decode_max_side: int = Field(
        default=1280, ge=320, description="bigger photos are decoded reduced to this side and sent on reduced"
    )
    iou_threshold: float = Field(default=0.5, gt=0, le=1)

    data_dir: Path = Field(default=Path(".agrorisk"), description="local store of logs, feedback, requests")
    prediction_log_dir: Path | None = Field(
        default=None,
        description="JSONL prediction log the Dagster drift asset reads; unset: <data_dir>/prediction-log",
    )
    log_images: bool = Field(default=True, description="keep each predicted photo beside the prediction log")
    shared_store: SharedStore = "local"
    shared_bucket: SharedBucket = SHARED_BUCKET

    jobs_max_images: int = Field(default=500, gt=0)
    jobs_concurrency: int = Field(default=4, gt=0)
    jobs_input_root: Path | None = Field(
        default=None, description="a server folder whose sub-folders a job may read; None forbids folder jobs"
    )
    jobs_db: Path | None = Field(
        default=None, description="SQLite file of the job queue and results; unset: <data_dir>/jobs.sqlite3"
    )
    jobs_database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL for the job queue and results, postgresql://user:password@host:5432/db "
        "(checked when the backend starts); unset: the SQLite file jobs_db",
    )

    api_key: SecretStr | None = Field(
        default=None, description="when set (non-empty), every /v1 route needs X-API-Key"
    )
    admin_api_key: SecretStr | None = Field(
        default=None, description="key for admin routes; unset or empty: admin routes answer 403"
    )

    public_base_url: str = Field(
        default="", description="prefix for the links, e.g. https://agrorisk.example"
    )
    links: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LINKS))
    wandb_url: str = Field(default="/wandb/", description="W&B UI base for run links in /v1/models")
    cors_origins: list[str] = Field(default_factory=list)

    @field_validator("api_key", "admin_api_key", mode="before")
    @classmethod
    def _empty_key_is_no_key(cls, value: object) -> object:
        """`AGRORISK_BACKEND_API_KEY=` (as .env.example ships it) means no key, not the empty key."""
        secret = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if isinstance(secret, str) and not secret.strip() else value

    @property
    def jobs_database(self) -> Path | str:
        """Where the jobs live: the PostgreSQL URL when set, else the SQLite file."""
        if self.jobs_database_url is not None:
            return self.jobs_database_url.get_secret_value()
        assert self.jobs_db is not None, "filled in by _default_jobs_db"
        return self.jobs_db

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(self.max_upload_bytes, self.max_pixels, self.decode_max_side)

    @model_validator(mode="after")
    def _default_prediction_log_dir(self) -> Settings:
        if self.prediction_log_dir is None:
            self.prediction_log_dir = self.data_dir / "prediction-log"
        return self

    @model_validator(mode="after")
    def _default_jobs_db(self) -> Settings:
        if self.jobs_db is None:
            self.jobs_db = self.data_dir / "jobs.sqlite3"
        return self

    @model_validator(mode="after")
    def _floor_below_threshold(self) -> Settings:
        if self.unsure_floor > self.conf_threshold:
            raise ValueError(
                f"unsure_floor {self.unsure_floor} is above conf_threshold {self.conf_threshold}"
            )
        return self

    @field_validator("triton_url")
    @classmethod
    def _host_port(cls, value: str) -> str:
        """tritonclient wants host:port; accept a URL too."""
        return value.split("://", 1)[-1].rstrip("/")

    @property
    def feedback_dir(self) -> Path:
        return self.data_dir / "feedback"

    @property
    def retrain_requests_dir(self) -> Path:
        return self.data_dir / "retrain-requests"
