"""Settings of the Gemini integration (env prefix `AGRORISK_GEMINI_`; the key also from `GEMINI_API_KEY`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator

from agrorisk_common.settings import AgroRiskSettings, service_config
from agrorisk_gemini.models import model_info

MediaResolutionName = Literal["unspecified", "low", "medium", "high"]


class GeminiSettings(AgroRiskSettings):
    """How to reach Gemini, which model to ask, and how patiently."""

    # validate_by_name: `GeminiSettings(api_key=...)` works in code too; "none" in env means None.
    model_config = {
        **service_config("AGRORISK_GEMINI_"),
        "validate_by_name": True,
        "env_parse_none_str": "none",
    }

    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("AGRORISK_GEMINI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"),
        description="Gemini Developer API key; without it predictions say 'Gemini is not configured'.",
    )
    base_url: str | None = Field(
        default=None, description="Override of the API endpoint (a proxy, or the local fake server in tests)."
    )
    api_version: str = Field(default="v1beta", description="REST API version: v1beta (all features) or v1.")
    model: str = Field(
        default="gemini-2.5-flash", description="Gemini model id; one of agrorisk_gemini.models (all priced)."
    )
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    thinking_budget: int | None = Field(
        default=0,
        ge=-1,
        description="Thinking tokens wanted (0 = least the model allows, -1 = dynamic, None = model default).",
    )
    media_resolution: MediaResolutionName = Field(
        default="unspecified",
        description="Tokens per image: Gemini 2.x low 64, medium 256; Gemini 3 low 280, medium 560, high 1120.",
    )
    timeout_s: float = Field(default=60.0, gt=0, description="Seconds one attempt may take.")
    max_attempts: int = Field(default=3, ge=1, le=10, description="Attempts per image, first one included.")
    backoff_initial_s: float = Field(default=1.0, ge=0, description="Wait before the first retry.")
    backoff_multiplier: float = Field(default=2.0, ge=1.0, description="Each retry waits this much longer.")
    backoff_max_s: float = Field(default=30.0, ge=0)
    concurrency: int = Field(default=4, ge=1, le=64, description="Requests in flight at once.")
    risk_ids: list[str] = Field(
        default_factory=list, description="Risks to ask about (empty = the whole catalog)."
    )
    few_shot_dataset: Path | None = Field(
        default=None, description="data.yaml of a labelled YOLO set whose images become few-shot examples."
    )
    few_shot_split: str = Field(default="train")
    few_shot_per_risk: int = Field(default=0, ge=0, le=5, description="Examples per risk (0 = zero-shot).")
    use_cache: bool = Field(
        default=False, description="Put the catalog prompt (and examples) in a Gemini context cache."
    )
    cache_ttl_s: int = Field(default=3600, ge=60, description="Lifetime of the context cache.")
    batch_poll_s: float = Field(default=10.0, gt=0, description="Seconds between Batch API status checks.")
    max_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        try:
            model_info(value)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        return value

    @property
    def configured(self) -> bool:
        return self.api_key is not None and bool(self.api_key.get_secret_value().strip())
