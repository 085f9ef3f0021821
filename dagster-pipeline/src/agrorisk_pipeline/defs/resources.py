"""One ConfigurableResource per outside system. Secrets are never resource config (the Dagster UI
shows config): each resource builds its package's settings, which read keys from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import dagster as dg
from pydantic import Field, create_model

from agrorisk_pipeline.settings import Settings
from agrorisk_train.settings import TrainSettings, WandbMode


class _Flow(dg.ConfigurableResource):
    """What the flow works on and the thresholds of its checks (defaults: `AGRORISK_PIPELINE_*`).
    Its config fields are the pipeline `Settings`' own (see `FlowResource` below); code reads them
    typed through `settings()`."""

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Self:
        values = settings.model_dump(mode="json")
        return cls(**{k: v for k, v in values.items() if k in cls.model_fields} | overrides)

    def settings(self) -> Settings:
        """The flow settings with every folder made absolute (runs may start in another directory)."""
        settings = Settings(**self.model_dump())
        folders = ("work_dir", "prediction_log_dir", "feedback_dir", "retrain_requests_dir", "inbox_dir")
        optional = ("public_datasets_file", "starter_model")
        return settings.model_copy(
            update={name: getattr(settings, name).resolve() for name in folders}
            | {name: getattr(settings, name).resolve() for name in optional if getattr(settings, name)}
        )

    @property
    def work(self) -> Path:
        return self.settings().work_dir

    def train_settings(self, wandb: WandbResource | None = None) -> TrainSettings:
        """agrorisk_train settings for this flow. Runs and the Optuna study live in the work folder
        unless AGRORISK_TRAIN_PROJECT_DIR / AGRORISK_TRAIN_OPTUNA_STORAGE say otherwise (e.g. a shared
        PostgreSQL study in the compose stack)."""
        wandb = wandb or WandbResource(mode="disabled")
        flow = self.settings()
        environment = TrainSettings()
        work_defaults = {
            "project_dir": flow.work_dir / "runs",
            "optuna_storage": f"sqlite:///{flow.work_dir / 'optuna.db'}",
        }
        return TrainSettings(
            **{k: v for k, v in work_defaults.items() if k not in environment.model_fields_set},
            model=flow.start_model, epochs=flow.epochs, imgsz=flow.imgsz, batch=flow.batch, device=flow.device,
            plots=flow.plots, optuna_study="agrorisk-pipeline", tune_trials=max(1, flow.tune_trials),
            tune_epochs=flow.tune_epochs, tune_imgsz_choices=[flow.imgsz], tune_batch_choices=[flow.batch],
            wandb_project=wandb.project, wandb_entity=wandb.entity, wandb_mode=wandb.mode,
        )  # fmt: skip


def _config_type(annotation):
    """Dagster config has no Path: folders are strings in the UI and the run config."""
    if annotation is Path:
        return str
    if annotation == Path | None:
        return str | None
    return annotation


# Every pipeline setting is a config field of the same name and type, set from `Settings` by
# `FlowResource.from_settings` (so the Dagster UI shows and can override each one). Type checkers
# see the base class: the generated fields are read typed through `settings()`.
if TYPE_CHECKING:
    FlowResource = _Flow
else:
    FlowResource = create_model(
        "FlowResource",
        __base__=_Flow,
        __module__=__name__,
        **{name: (_config_type(f.annotation), ...) for name, f in Settings.model_fields.items()},
    )


class RegistryResource(dg.ConfigurableResource):
    """Model and dataset registry (minio-storage): S3/MinIO when an endpoint is set, else a local folder.
    Unset fields keep `AGRORISK_STORAGE_*`; keys always come from the environment."""

    endpoint: str | None = None
    local_root: str | None = None
    cache_dir: str | None = None

    def storage_settings(self):
        from agrorisk_storage import StorageSettings

        overrides = {k: v for k, v in self.model_dump().items() if v is not None}
        return StorageSettings(**overrides)

    def models(self):
        from agrorisk_storage import ModelRegistry

        return ModelRegistry.from_settings(self.storage_settings())

    def datasets(self):
        from agrorisk_storage import DatasetRegistry

        return DatasetRegistry.from_settings(self.storage_settings())


class WandbResource(dg.ConfigurableResource):
    """Weights & Biases tracking of training runs: online with WANDB_API_KEY, else offline files."""

    mode: WandbMode = "auto"
    project: str = "agrorisk-yolo"
    entity: str | None = None


class GeminiResource(dg.ConfigurableResource):
    """Gemini as a second opinion in evaluation; off unless a key is in the environment."""

    model: str | None = None
    base_url: str | None = None
    evaluate: bool = Field(default=True, description="score Gemini on the test split (API calls, cost)")

    def settings(self):
        from agrorisk_gemini import GeminiSettings

        overrides = {k: v for k, v in self.model_dump().items() if v is not None}
        return GeminiSettings(**overrides)


class LabelStudioResource(dg.ConfigurableResource):
    """Label Studio for human review (dataset-labeling settings; token from the environment)."""

    url: str | None = None
    project: str | None = None

    def labeling_settings(self, manifest: Path):
        from agrorisk_labeling.settings import Settings as LabelingSettings

        overrides: dict[str, Any] = {"label_studio_url": self.url, "label_studio_project": self.project}
        return LabelingSettings(manifest=manifest, **{k: v for k, v in overrides.items() if v is not None})

    def configured(self, manifest: Path) -> bool:
        return bool(self.labeling_settings(manifest).label_studio_api_key.get_secret_value())


class ServingResource(dg.ConfigurableResource):
    """A serving endpoint (Ray Serve `POST /predict`); empty = batch inference runs the weights locally."""

    url: str = ""


def default_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Every resource from the environment (`AGRORISK_*`), the flow settings from `settings`."""
    return {
        "flow": FlowResource.from_settings(settings),
        "registry": RegistryResource(),
        "wandb": WandbResource(),
        "gemini": GeminiResource(),
        "label_studio": LabelStudioResource(),
        "serving": ServingResource(),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=default_resources(Settings()))
