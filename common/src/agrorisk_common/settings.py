"""The settings base: every service's settings are a subclass with its own env prefix."""

from __future__ import annotations

import difflib
import logging
import os
import types
import typing
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)
_warned: set[str] = set()

SHARED_BUCKET = "agrorisk-shared"
SharedStore = Annotated[
    Literal["local", "s3"],
    Field(
        description="where the backends keep the prediction log and feedback: local folders, or s3 (one "
        "bucket on the AGRORISK_STORAGE_ endpoint that every backend replica writes and the pipeline mirrors)"
    ),
]
"""A setting of the backend and the pipeline alike (AGRORISK_BACKEND_/AGRORISK_PIPELINE_SHARED_STORE)."""
SharedBucket = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        description="that bucket; the pipeline also publishes the latest drift report there (on the S3 "
        "endpoint, or under the local registry root without one)",
    ),
]


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

    @field_validator("*", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object, info: ValidationInfo) -> object:
        """`KEY=` in .env means "not set" for optional fields, so an empty secret never counts as a key."""
        if isinstance(value, str) and not value.strip() and info.field_name:
            annotation = cls.model_fields[info.field_name].annotation
            if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(
                None
            ) in typing.get_args(annotation):
                return None
        return value

    @typing.override
    def model_post_init(self, context: object, /) -> None:
        """Warn once about `AGRORISK_<SERVICE>_*` variables no setting reads: a misspelt name would
        otherwise be ignored silently."""
        prefix = str(self.model_config.get("env_prefix") or "")
        if prefix in ("", "AGRORISK_"):
            return
        known = {prefix + name.upper() for name in type(self).model_fields}
        for name in sorted(os.environ):
            upper = name.upper()
            if not upper.startswith(prefix) or upper in known or "__" in upper or upper in _warned:
                continue
            _warned.add(upper)
            close = difflib.get_close_matches(upper, known, n=1)
            hint = (
                f"; did you mean {close[0]}?" if close else f" (known: the {prefix}* lines of .env.example)"
            )
            log.warning("%s is set but no setting reads it%s", name, hint)

    def public_dict(self) -> dict:
        """Settings as a dict safe to log or return: secrets shown as '**********' or None."""
        return self.model_dump(mode="json")
