"""Where training starts: a registry version, a local checkpoint, Ultralytics' COCO-pretrained
weights (from the weights folder, or downloaded when the network allows), else the project's own
starter model trained on real photos, else the bare architecture yaml — each fallback said loudly."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agrorisk_train.settings import TrainSettings

log = logging.getLogger(__name__)

REGISTRY_PREFIX = "registry:"
StartKind = Literal["coco", "starter", "random", "registry", "checkpoint"]


@dataclass(frozen=True)
class StartWeights:
    requested: str
    path: str
    note: str
    registry_version: str | None = None
    kind: StartKind = "checkpoint"

    @property
    def pretrained(self) -> bool:
        """Every start but the bare architecture brings learned weights."""
        return self.kind != "random"


def resolve_start_weights(settings: TrainSettings, model: str | None = None, registry=None) -> StartWeights:
    """Turn a model spec into something `YOLO()` loads, saying clearly where it came from."""
    spec = model or settings.model or settings.default_model
    if spec.startswith(REGISTRY_PREFIX):
        return _from_registry(spec, registry)
    if spec.endswith((".yaml", ".yml")):
        return StartWeights(spec, spec, f"architecture {spec}, random initial weights", kind="random")
    local = Path(spec).expanduser()
    if local.is_file():
        return StartWeights(spec, str(local.resolve()), f"local checkpoint {local}")
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    if spec not in GITHUB_ASSETS_NAMES:
        raise FileNotFoundError(
            f"model {spec!r} is not a file, an Ultralytics weights name (yolo11n.pt …), a yaml or registry:<ref>"
        )
    return _pretrained(spec, settings.weights_dir, settings.starter_model)


def _pretrained(name: str, weights_dir: Path, starter: Path | None) -> StartWeights:
    from ultralytics.utils.downloads import attempt_download_asset

    try:
        weights_dir.mkdir(parents=True, exist_ok=True)
        path = Path(attempt_download_asset(weights_dir / name))
    except (OSError, ConnectionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if starter is not None and starter.is_file():
            log.warning(
                "COCO-pretrained %s is not in %s and cannot be downloaded (%s); starting from the project's "
                "starter model %s (trained on real PlantDoc photos)", name, weights_dir, reason, starter,
            )  # fmt: skip
            return StartWeights(
                name,
                str(starter.resolve()),
                f"{name} unreachable, starter model {starter}",
                kind="starter",
            )
        fallback = name.removesuffix(".pt") + ".yaml"
        log.warning(
            "pretrained weights %s are unreachable (%s) and there is no starter model; training from %s with "
            "RANDOM initial weights", name, reason, fallback,
        )  # fmt: skip
        return StartWeights(
            name, fallback, f"{name} unreachable, fell back to {fallback} (random init)", kind="random"
        )
    log.info("starting from COCO-pretrained %s (%s)", name, path)
    return StartWeights(name, str(path), f"pretrained {name} (COCO)", kind="coco")


def _from_registry(spec: str, registry) -> StartWeights:
    ref = spec.removeprefix(REGISTRY_PREFIX) or "production"
    if registry is None:
        raise ValueError(f"{spec}: no model registry configured")
    info = registry.show(ref)
    folder = registry.pull(ref)
    best = Path(folder) / "best.pt"
    if not best.is_file():
        raise FileNotFoundError(f"registry version {info.version} has no best.pt")
    log.info("starting from registry version %s (%s)", info.version, ref)
    return StartWeights(
        spec, str(best), f"registry {info.version}", registry_version=info.version, kind="registry"
    )


def resolve_device(device: str) -> str:
    """'auto' → first CUDA GPU when present, else CPU; anything else is passed to Ultralytics as is."""
    if device != "auto":
        return device
    import torch

    return "0" if torch.cuda.is_available() else "cpu"
