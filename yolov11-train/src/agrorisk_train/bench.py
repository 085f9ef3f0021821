"""Training speed on this machine: seconds per epoch per 100 images at 320 px, on generated leaves."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from agrorisk_common.procedural import generate_leaf_dataset
from agrorisk_train.settings import TrainSettings
from agrorisk_train.training import train
from agrorisk_train.weights import resolve_device

BENCH_RISKS = ("bench-rust", "bench-blotch", "bench-spot", "bench-mildew")
BENCH_IMGSZ = 320


def benchmark_training(
    settings: TrainSettings, out: Path, *, images_per_class: int = 10, epochs: int = 3
) -> dict[str, float | int | str]:
    """Train yolo11<size> from its yaml for `epochs` on 4 × `images_per_class` generated images at
    320 px and write {"train_s_per_epoch_per_100_images_320px": …, …} to `out`. The first epoch
    (warm-up, caches) is left out of the average when there is more than one."""
    epoch_seconds: list[float] = []
    started: list[float] = []
    with tempfile.TemporaryDirectory(prefix="agrorisk-bench-") as tmp:
        data = generate_leaf_dataset(
            Path(tmp) / "data", BENCH_RISKS, images_per_class=images_per_class, imgsz=BENCH_IMGSZ, seed=0
        )
        bench_settings = settings.model_copy(
            update={
                "model": f"yolo11{settings.model_size}.yaml",
                "epochs": epochs,
                "imgsz": BENCH_IMGSZ,
                "project_dir": Path(tmp) / "runs",
                "wandb_mode": "disabled",
                "plots": False,
                "patience": 0,
            }
        )
        result = train(
            bench_settings,
            data,
            run_name="bench",
            overrides={"val": False},
            callbacks={
                "on_train_epoch_start": [lambda _: started.append(time.perf_counter())],
                "on_train_epoch_end": [lambda _: epoch_seconds.append(time.perf_counter() - started[-1])],
            },
        )
        n_train = len(list((Path(tmp) / "data" / "images" / "train").iterdir()))
    timed = epoch_seconds[1:] or epoch_seconds
    per_epoch = sum(timed) / len(timed)
    report: dict[str, float | int | str] = {
        "train_s_per_epoch_per_100_images_320px": round(per_epoch / n_train * 100, 3),
        "train_s_per_epoch": round(per_epoch, 3),
        "train_images": n_train,
        "epochs": epochs,
        "batch": bench_settings.batch,
        "model": str(result.start["requested"]),
        "device": resolve_device(settings.device),
        "cpu_count": os.cpu_count() or 0,
        "machine": platform.processor() or platform.machine(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return report
