"""The settings base: every service's settings are a subclass with its own env prefix."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


def service_config(prefix: str) -> SettingsConfigDict:
    """Settings config for one service: env prefix `AGRORISK_<SERVICE>_`, `.env` support."""
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_nested_delimiter="__",
    )


class AgroRiskSettings(BaseSettings):
    """Base of all settings. Subclasses set `model_config = service_config("AGRORISK_X_")`.

    Keys are `SecretStr` fields: their values never appear in repr, logs or JSON dumps.
    """

    model_config = service_config("AGRORISK_")

    def public_dict(self) -> dict:
        """Settings as a dict safe to log or return: secrets shown as '**********' or None."""
        return self.model_dump(mode="json")
