"""Web UI settings: env prefix AGRORISK_WEB_."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from agrorisk_common.settings import AgroRiskSettings, service_config


class Settings(AgroRiskSettings):
    """Where the UI listens and which backend it talks to (over HTTP only)."""

    model_config = service_config("AGRORISK_WEB_")

    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=0, le=65535)
    backend_url: str = "http://127.0.0.1:8080"
    backend_api_key: SecretStr | None = Field(
        default=None, description="sent as X-API-Key when the backend wants one"
    )
    timeout_s: float = Field(default=120.0, gt=0, description="how long to wait for one backend answer")
    root_path: str = Field(default="", description="path prefix when served behind a proxy, e.g. /app")
    max_upload_mb: int = Field(default=20, gt=0, description="largest photo the page accepts")

    @field_validator("backend_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s):// URL, got {value!r}")
        return value.rstrip("/")
