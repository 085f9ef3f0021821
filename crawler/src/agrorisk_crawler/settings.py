"""Crawler settings: engines and their endpoints, politeness, validation limits, where images go."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from agrorisk_common.manifest import images_dir_of
from agrorisk_common.settings import AgroRiskSettings, service_config

KNOWN_ENGINES = ("bing", "baidu", "google", "flickr")


class Settings(AgroRiskSettings):
    """Every value can be set as `AGRORISK_CRAWLER_<NAME>` (lists comma-separated)."""

    model_config = service_config("AGRORISK_CRAWLER_")

    catalog_dir: Path | None = Field(None, description="Risk catalog folder or CSV (default: crawler/risks).")
    download_dir: Path = Field(Path("crawler/download"), description="Holds images/ and manifest.csv.")
    engines: Annotated[list[str], NoDecode] = Field(
        ["bing", "baidu", "flickr"], description="Search engines, in order; flickr runs only with a key."
    )
    bing_url: str = "https://www.bing.com/images/async"
    baidu_url: str = "https://image.baidu.com/search/acjson"
    google_url: str = "https://www.google.com/search"
    flickr_api_url: str = "https://api.flickr.com/services/rest/"
    flickr_api_key: SecretStr | None = None
    user_agent: str = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0 Safari/537.36"
    )

    max_per_risk: int = Field(200, ge=1, description="Stop collecting a risk once it holds this many images.")
    max_queries_per_risk: int = Field(8, ge=1)
    target_per_risk: int = Field(100, ge=1, description="`stats` lists the risks below this count.")

    threads: int = Field(8, ge=1, le=64, description="Image download threads.")
    parser_threads: int = Field(2, ge=1, le=16, description="Result-page threads.")
    per_host_rate: float = Field(2.0, ge=0, description="Requests per second to one host; 0 = unlimited.")
    timeout_s: float = Field(10.0, gt=0)
    retries: int = Field(2, ge=0, description="Extra attempts after a timeout, connection error, 429 or 5xx.")
    backoff_s: float = Field(0.5, ge=0, description="First retry delay; doubles on each further retry.")

    min_side: int = Field(200, ge=1, description="Smaller images are rejected as too_small.")
    max_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    max_pixels: int = Field(50_000_000, ge=1)
    phash_threshold: int = Field(
        6, ge=0, le=32, description="Hamming distance that counts as near-duplicate."
    )

    @field_validator("engines", mode="before")
    @classmethod
    def _split_engines(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("engines")
    @classmethod
    def _known_engines(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e not in KNOWN_ENGINES]
        if unknown:
            raise ValueError(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(KNOWN_ENGINES)}")
        if not value:
            raise ValueError("at least one engine is needed")
        return list(dict.fromkeys(value))

    @property
    def manifest_path(self) -> Path:
        return self.download_dir / "manifest.csv"

    @property
    def images_dir(self) -> Path:
        return images_dir_of(self.manifest_path)

    def active_engines(self) -> list[str]:
        """The engines that can run: flickr is left out without an API key."""
        return [e for e in self.engines if e != "flickr" or self.flickr_api_key is not None]
