"""Storage settings: which backend holds the registry (S3/MinIO or a local folder) and where."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr, model_validator

from agrorisk_common.settings import AgroRiskSettings, service_config


class StorageSettings(AgroRiskSettings):
    """`AGRORISK_STORAGE_*`. An empty `endpoint` selects the local-folder backend under `local_root`."""

    model_config = service_config("AGRORISK_STORAGE_")

    endpoint: str = ""
    access_key: str = ""
    secret_key: SecretStr = SecretStr("")
    secure: bool = False
    region: str = "us-east-1"
    models_bucket: str = "agrorisk-models"
    datasets_bucket: str = "agrorisk-datasets"
    local_root: Path = Path(".agrorisk/registry")
    cache_dir: Path = Path(".agrorisk/cache")

    @model_validator(mode="after")
    def _split_endpoint_url(self) -> StorageSettings:
        """Accept `http(s)://host:port` as well as `host:port`; the scheme sets `secure`."""
        endpoint = self.endpoint.strip()
        if "://" in endpoint:
            url = urlsplit(endpoint)
            if url.scheme not in ("http", "https") or not url.netloc or url.path.strip("/"):
                raise ValueError(f"endpoint must look like http(s)://host:port, got {endpoint!r}")
            self.secure = url.scheme == "https"
            endpoint = url.netloc
        elif "/" in endpoint:
            raise ValueError(f"endpoint must be host:port or http(s)://host:port, got {endpoint!r}")
        self.endpoint = endpoint
        return self

    @property
    def uses_s3(self) -> bool:
        return bool(self.endpoint)
