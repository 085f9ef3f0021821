"""Where training starts: a registry version, a local checkpoint, Ultralytics pretrained weights
(downloaded when the network allows), or the bare architecture yaml as the stated fallback."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from agrorisk_train.settings import TrainSettings

log = logging.getLogger(__name__)

REGISTRY_PREFIX = "registry:"


@dataclass(frozen=True)
class StartWeights:
    requested: str
    path: str
    pretrained: bool
    note: str
    registry_version: str | None = None


def resolve_start_weights(settings: TrainSettings, model: str | None = None, registry=None) -> StartWeights:
    """Turn a model spec into something `YOLO()` loads, saying clearly where it came from."""
    spec = model or settings.model or settings.default_model
    if spec.startswith(REGISTRY_PREFIX):
        return _from_registry(spec, registry)
    if spec.endswith((".yaml", ".yml")):
        return StartWeights(spec, spec, False, f"architecture {spec}, random initial weights")
    local = Path(spec).expanduser()
    if local.is_file():
        return StartWeights(spec, str(local.resolve()), True, f"local checkpoint {local}")
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    if spec not in GITHUB_ASSETS_NAMES:
        raise FileNotFoundError(
            f"model {spec!r} is not a file, an Ultralytics weights name (yolo11n.pt …), a yaml or registry:<ref>"
        )
    return _pretrained(spec, settings.config_dir / "weights")


def _pretrained(name: str, weights_dir: Path) -> StartWeights:
    from ultralytics.utils.downloads import attempt_download_asset

    try:
        weights_dir.mkdir(parents=True, exist_ok=True)
        path = Path(attempt_download_asset(weights_dir / name))
    except (OSError, ConnectionError) as exc:
        fallback = name.removesuffix(".pt") + ".yaml"
        log.warning(
            "pretrained weights %s are unreachable (%s); training from %s with RANDOM initial weights",
            name,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            fallback,
        )
        return StartWeights(
            name, fallback, False, f"{name} unreachable, fell back to {fallback} (random init)"
        )
    log.info("starting from pretrained %s (%s)", name, path)
    return StartWeights(name, str(path), True, f"pretrained {name}")


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
    return StartWeights(spec, str(best), True, f"registry {info.version}", registry_version=info.version)


def resolve_device(device: str) -> str:
    """'auto' → first CUDA GPU when present, else CPU; anything else is passed to Ultralytics as is."""
    if device != "auto":
        return device
    import torch

    return "0" if torch.cuda.is_available() else "cpu"
