"""Which model version to serve: resolve a registry alias and pull that version's files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agrorisk_storage import ModelRegistry, RegistryError, StorageSettings

ONNX_FILE = "best.onnx"
TORCH_FILE = "best.pt"
DEFAULT_IMGSZ = 640


class ModelUnavailable(RuntimeError):
    """The registry has no usable model for the alias (none promoted, files missing, bad metadata)."""


@dataclass(frozen=True)
class ModelVersion:
    """One pulled model version: where its files are and what the serving code needs to know."""

    version: str
    directory: Path
    class_names: tuple[str, ...]
    imgsz: int

    def file(self, name: str) -> Path:
        path = self.directory / name
        if not path.is_file():
            raise ModelUnavailable(f"model {self.version} has no {name}")
        return path


class ModelSource:
    """Reads the model registry: the version behind an alias, and its files (sha256-verified, cached)."""

    def __init__(self, registry: ModelRegistry, alias: str = "production"):
        self.registry, self.alias = registry, alias

    @classmethod
    def from_settings(cls, storage: StorageSettings, alias: str = "production") -> ModelSource:
        return cls(ModelRegistry.from_settings(storage), alias)

    def current_version(self) -> str:
        """The version the alias points at now, e.g. "v3"."""
        try:
            return self.registry.show(self.alias).version
        except RegistryError as exc:
            raise ModelUnavailable(f"no model behind alias {self.alias!r}: {exc}") from exc

    def pull(self, version: str | None = None) -> ModelVersion:
        """Pull `version` (default: the alias' version now) and read its serving metadata."""
        try:
            info = self.registry.show(version or self.alias)
            directory = self.registry.pull(info.version)
        except RegistryError as exc:
            raise ModelUnavailable(f"cannot pull model {version or self.alias!r}: {exc}") from exc
        class_names = info.metadata.get("class_names")
        if not class_names or not all(isinstance(n, str) for n in class_names):
            raise ModelUnavailable(f"model {info.version} has no class_names list in its metadata")
        imgsz = info.metadata.get("imgsz") or DEFAULT_IMGSZ
        if isinstance(imgsz, list | tuple):
            imgsz = max(imgsz)
        return ModelVersion(info.version, Path(directory), tuple(class_names), int(imgsz))
