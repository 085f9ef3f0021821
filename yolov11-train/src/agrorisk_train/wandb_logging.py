"""Weights & Biases tracking of one Ultralytics training run, as trainer callbacks.

Logs the config, per-epoch losses, learning rates and metrics, the PR/F1/confusion plots when
Ultralytics writes them, sample predictions of the best model and the best model as an artifact.
Online when WANDB_API_KEY is set (or mode is "online"), otherwise offline under the run folder;
`run_ref` is then the run URL or the offline run folder (`wandb sync <folder>` uploads it later).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from agrorisk_train.settings import TrainSettings

if TYPE_CHECKING:
    from ultralytics.engine.results import Results

log = logging.getLogger(__name__)

PLOT_STEMS = (
    "BoxPR_curve",
    "BoxF1_curve",
    "BoxP_curve",
    "BoxR_curve",
    "confusion_matrix",
    "results",
    "labels",
)


RunMode = Literal["online", "offline", "disabled"]


def wandb_mode(settings: TrainSettings) -> RunMode:
    if settings.wandb_mode != "auto":
        return settings.wandb_mode
    return "online" if os.environ.get("WANDB_API_KEY") else "offline"


class WandbLogger:
    """Attach to a `YOLO` model before `train()`; read `run_ref` afterwards."""

    def __init__(
        self,
        settings: TrainSettings,
        *,
        group: str | None = None,
        job_type: str = "train",
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.mode: RunMode = wandb_mode(settings)
        self.group = group
        self.job_type = job_type
        self.extra_config = extra_config or {}
        self.run = None
        self.run_ref: str | None = None
        self._logged_plots: set[str] = set()
        self._finished = False

    def attach(self, model) -> None:
        if self.mode == "disabled":
            return
        model.add_callback("on_pretrain_routine_end", self._start)
        model.add_callback("on_train_epoch_end", self._train_epoch_end)
        model.add_callback("on_fit_epoch_end", self._fit_epoch_end)
        model.add_callback("on_train_end", self._train_end)
        model.add_callback("teardown", self._teardown)

    def _start(self, trainer) -> None:
        import wandb

        if self.mode == "offline":
            os.environ["WANDB_MODE"] = "offline"  # mode= alone still lets analytics try DNS
        config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(trainer.args).items()}
        try:
            self.run = wandb.init(
                project=self.settings.wandb_project,
                entity=self.settings.wandb_entity,
                group=self.group,
                job_type=self.job_type,
                name=Path(trainer.save_dir).name,
                config={**config, **self.extra_config},
                dir=str(trainer.save_dir),
                mode=self.mode,
                reinit="finish_previous",
            )
        except Exception as exc:  # tracking is optional: a down W&B server must not stop training
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("W&B is unavailable (%s); training continues without tracking", reason)
            self._finished = True
            return
        for prefix in ("train", "val", "metrics", "lr"):
            self.run.define_metric(f"{prefix}/*", step_metric="epoch")
        self.run_ref = self.run.url or str(Path(self.run.dir).parent)
        log.info("W&B run (%s): %s", self.mode, self.run_ref)

    def _train_epoch_end(self, trainer) -> None:
        if self.run is None:
            return
        losses = trainer.label_loss_items(trainer.tloss, prefix="train")
        self.run.log({**losses, **{f"lr/{k.split('/')[-1]}": v for k, v in trainer.lr.items()}}, commit=False)

    def _fit_epoch_end(self, trainer) -> None:
        if self.run is None:
            return
        metrics = {k: float(v) for k, v in trainer.metrics.items()}
        if not any(k.startswith("val/") for k in metrics):
            # Ultralytics' final validation of best.pt: the run's result, not another epoch.
            for key, value in metrics.items():
                self.run.summary[f"best/{key}"] = value
            return
        self._log_plots(self.run, trainer)
        self.run.log({**metrics, "epoch": trainer.epoch + 1}, commit=True)

    def _train_end(self, trainer) -> None:
        if self.run is None:
            return
        import wandb

        self._log_plots(self.run, trainer)
        if self.settings.wandb_sample_images and Path(trainer.best).is_file():
            self.run.log({"samples/predictions": self._sample_predictions(trainer)}, commit=False)
        if Path(trainer.best).is_file():
            artifact = wandb.Artifact(
                name=f"model-{self.run.id}", type="model", metadata=dict(trainer.metrics)
            )
            artifact.add_file(str(trainer.best), name="best.pt")
            self.run.log_artifact(artifact, aliases=["best"])
        self.run.log({"epoch": trainer.epoch + 1}, commit=True)
        self.run.finish()
        self._finished = True

    def _teardown(self, _trainer) -> None:
        if self.run is not None and not self._finished:
            self.run.finish(exit_code=1)  # training raised before on_train_end

    def _log_plots(self, run, trainer) -> None:
        import wandb

        plots = [*getattr(trainer, "plots", {}), *getattr(trainer.validator, "plots", {})]
        images = {}
        for path in map(Path, plots):
            if path.is_file() and str(path) not in self._logged_plots and path.stem.startswith(PLOT_STEMS):
                images[f"plots/{path.stem}"] = wandb.Image(str(path))
                self._logged_plots.add(str(path))
        if images:
            run.log(images, commit=False)

    def _sample_predictions(self, trainer):
        """A table of validation images with the best model's boxes drawn as W&B box overlays."""
        import wandb
        from ultralytics import YOLO

        files = list(trainer.test_loader.dataset.im_files)[: self.settings.wandb_sample_images]
        model = YOLO(str(trainer.best))
        names = {int(k): v for k, v in model.names.items()}
        table = wandb.Table(columns=["image", "detections"])
        results = model.predict(files, imgsz=trainer.args.imgsz, device=trainer.args.device, verbose=False)
        for result in cast("list[Results]", results):
            detected = result.boxes
            assert detected is not None  # a detection model's results always carry boxes
            boxes = [
                {
                    "position": {"minX": x1, "minY": y1, "maxX": x2, "maxY": y2},
                    "class_id": int(c),
                    "box_caption": f"{names[int(c)]} {p:.2f}",
                    "scores": {"confidence": float(p)},
                }
                for (x1, y1, x2, y2), c, p in zip(
                    detected.xyxyn.tolist(), detected.cls.tolist(), detected.conf.tolist(), strict=True
                )
            ]
            image = wandb.Image(
                result.path,
                boxes={"predictions": {"box_data": boxes, "class_labels": names}} if boxes else None,
            )
            table.add_data(image, len(boxes))
        return table
