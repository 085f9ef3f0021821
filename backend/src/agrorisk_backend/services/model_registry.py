"""Model versions from the registry (MinIO or a local folder), shaped for the API and the UI."""

from __future__ import annotations

import asyncio
import json
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from agrorisk_backend.errors import public_text
from agrorisk_storage import ModelRegistry, RegistryError, StorageSettings


class ModelVersionOut(BaseModel):
    version: str
    number: int
    created_at: str
    aliases: list[str]
    metrics: dict[str, Any]
    dataset_version: str | None = None
    wandb_run: str | None = None
    wandb_url: str | None = None
    class_names: list[str] = []
    files: list[str] = []


class ModelsOut(BaseModel):
    location: str = Field(
        description="s3://<endpoint>/<bucket>, or local:<folder name> (never a server path)"
    )
    aliases: dict[str, str]
    versions: list[ModelVersionOut]
    error: str | None = None


def _public_run(run: str | None) -> str | None:
    """A W&B run as the API may show it: an offline run's local folder by its name only (no server path)."""
    if run and run.startswith(("/", ".", "~")):
        return PurePosixPath(run).name
    return run


class TrainingHistory(BaseModel):
    version: str
    epochs: list[dict[str, float]] = Field(
        description="one row per epoch as Ultralytics' results.csv names them: epoch, train/box_loss, "
        "train/cls_loss, val/box_loss, metrics/mAP50(B), metrics/mAP50-95(B), lr/pg0, …"
    )


class NoHistory(LookupError):
    """The version does not exist, or was registered without per-epoch training metrics."""


class ModelCatalog:
    """Reads and promotes model versions; registry errors become messages, not crashes."""

    def __init__(self, storage: StorageSettings, wandb_url: str):
        self.storage = storage
        self.wandb_url = wandb_url.rstrip("/")
        self.location = (
            f"s3://{storage.endpoint}/{storage.models_bucket}"
            if storage.uses_s3
            else f"local:{storage.local_root.name}"
        )

    def _registry(self) -> ModelRegistry:
        return ModelRegistry.from_settings(self.storage)

    async def list(self) -> ModelsOut:
        try:
            versions, aliases = await asyncio.to_thread(self._read)
        except (RegistryError, OSError) as exc:
            return ModelsOut(
                location=self.location,
                aliases={},
                versions=[],
                error=public_text(f"registry unavailable: {exc}"),
            )
        return ModelsOut(location=self.location, aliases=aliases, versions=versions)

    async def promote(self, ref: str, alias: str) -> ModelVersionOut:
        """Point `alias` at version `ref`; raises RegistryError for an unknown version."""
        info = await asyncio.to_thread(lambda: self._registry().promote(ref, alias))
        return self._shape(info)

    async def history(self, ref: str) -> TrainingHistory:
        """The version's training curves from its metrics.json (written by `agrorisk-train fit`).
        Raises NoHistory (unknown version, no curves) or RegistryError/OSError (registry down)."""
        return await asyncio.to_thread(self._read_history, ref)

    def _read_history(self, ref: str) -> TrainingHistory:
        registry = self._registry()
        try:
            info = registry.show(ref)
        except RegistryError as exc:
            if str(exc).startswith("no "):
                raise NoHistory(str(exc)) from None
            raise
        if "metrics.json" not in info.files:
            raise NoHistory(f"{info.version} was registered without metrics.json: no training curves")
        try:
            rows = json.loads(registry.read_file(info.version, "metrics.json")).get("per_epoch") or []
        except (ValueError, AttributeError):
            rows = []
        epochs = [
            {k: float(v) for k, v in row.items() if isinstance(v, int | float)}
            for row in rows
            if isinstance(row, dict)
        ]
        if not epochs:
            raise NoHistory(f"{info.version}'s metrics.json has no per-epoch rows: no training curves")
        return TrainingHistory(version=info.version, epochs=epochs)

    async def reachable(self) -> bool:
        try:
            await asyncio.to_thread(lambda: self._registry().aliases())
        except (RegistryError, OSError):
            return False
        return True

    def _read(self) -> tuple[list[ModelVersionOut], dict[str, str]]:
        registry = self._registry()
        versions = sorted(registry.list(), key=lambda v: v.number, reverse=True)
        return [self._shape(v) for v in versions], dict(registry.aliases())

    def _shape(self, info: Any) -> ModelVersionOut:
        metadata = dict(info.metadata or {})
        wandb_run = _public_run(metadata.get("wandb_run"))
        return ModelVersionOut(
            version=info.version,
            number=info.number,
            created_at=str(info.created_at),
            aliases=list(info.aliases),
            metrics=dict(metadata.get("metrics") or {}),
            dataset_version=metadata.get("dataset_version"),
            wandb_run=wandb_run,
            wandb_url=self._wandb_link(wandb_run),
            class_names=list(metadata.get("class_names") or []),
            files=sorted(info.files),
        )

    def _wandb_link(self, run: str | None) -> str | None:
        """A browsable link: the run URL as recorded, or the run path under the W&B UI; None offline."""
        if not run:
            return None
        if run.startswith(("http://", "https://")):
            return run
        if run.count("/") >= 2 and not run.startswith(("/", ".")) and "offline-run" not in run:
            return f"{self.wandb_url}/{run}"
        return None
