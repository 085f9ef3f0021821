"""The Dagster flow's resources for fast in-process runs: drawn leaves (or what the overrides say),
tiny images and epochs on the CPU, a local registry, W&B offline, no Label Studio or Gemini."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STARTER = Path(__file__).resolve().parents[3] / "models" / "starter" / "best.pt"
RISKS = ["wheat-septoria-leaf-blotch", "wheat-leaf-rust"]


def flow_resources(tmp: Path, **flow_overrides: Any) -> dict[str, Any]:
    """Resources for `agrorisk_pipeline.flow.materialize_flow` / `run_job` with all state under `tmp`."""
    from agrorisk_pipeline.defs.resources import (
        FlowResource,
        GeminiResource,
        LabelStudioResource,
        RegistryResource,
        ServingResource,
        WandbResource,
    )
    from agrorisk_pipeline.settings import Settings

    values = dict(
        work_dir=str(tmp / "work"), risk_ids=RISKS, images_per_class=10, procedural_imgsz=64, imgsz=64,
        epochs=1, batch=8, device="cpu", start_model="yolo11n.yaml", starter_model=str(STARTER), plots=False,
        tune_trials=0, prediction_log_dir=str(tmp / "log"), feedback_dir=str(tmp / "feedback"),
        inbox_dir=str(tmp / "inbox"), reference_max_images=40, drift_min_rows=10, feedback_min_new=2,
    )  # fmt: skip
    return {
        "flow": FlowResource.from_settings(Settings(), **(values | flow_overrides)),
        "registry": RegistryResource(local_root=str(tmp / "registry"), cache_dir=str(tmp / "cache")),
        "wandb": WandbResource(mode="offline"),
        "gemini": GeminiResource(),
        "label_studio": LabelStudioResource(),
        "serving": ServingResource(),
    }
