"""Ultralytics and W&B without surprises: no connectivity probes, auto-installs, font downloads or
telemetry. `activate()` must run before `import ultralytics` (it reads these at import time);
`ultralytics_settings()` is re-applied each run because Ultralytics persists settings to a file.

Pretrained weights are still downloaded when the network allows it: YOLO_OFFLINE only stops the probe.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def activate(config_dir: Path) -> None:
    """Set the environment Ultralytics and W&B read at import time, and place the plotting font."""
    config_dir = config_dir.expanduser().resolve()
    if "ultralytics" in sys.modules and os.environ.get("YOLO_CONFIG_DIR") != str(config_dir):
        log.warning("ultralytics was imported before agrorisk_train set YOLO_CONFIG_DIR=%s", config_dir)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    os.environ.setdefault("YOLO_VERBOSE", "true")
    if not os.environ.get("WANDB_API_KEY"):
        os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    _place_font(config_dir / "Ultralytics")


def _place_font(font_dir: Path) -> None:
    """Ultralytics asks GitHub for Arial.ttf on every train(); matplotlib's DejaVuSans stands in."""
    target = font_dir / "Arial.ttf"
    if target.exists():
        return
    import matplotlib

    font_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", target)


def ultralytics_settings(runs_dir: Path, config_dir: Path) -> None:
    """Re-apply the Ultralytics settings we rely on: no sync/telemetry, no built-in loggers
    (W&B goes through `agrorisk_train.wandb_logging`), weights and runs under our folders."""
    activate(config_dir)
    from ultralytics import settings

    settings.update(
        sync=False,
        wandb=False,
        clearml=False,
        comet=False,
        dvc=False,
        mlflow=False,
        raytune=False,
        tensorboard=False,
        runs_dir=str(runs_dir.expanduser().resolve()),
        weights_dir=str(config_dir.expanduser().resolve() / "weights"),
    )
