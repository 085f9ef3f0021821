"""Optuna pruning fed from Ultralytics: report the metric after every epoch, stop pruned trials."""

from __future__ import annotations

import optuna

PRUNING_METRIC = "metrics/mAP50-95(B)"


class PruningCallback:
    """An `on_fit_epoch_end` callback for one trial.

    Ultralytics fires that event once more after training, for the final validation of best.pt
    (epoch == epochs, no `val/*` losses); that call is not an epoch and is skipped.
    """

    def __init__(self, trial: optuna.Trial, metric: str = PRUNING_METRIC) -> None:
        self.trial = trial
        self.metric = metric
        self.pruned_at: int | None = None
        self.reported_epochs: list[int] = []

    def __call__(self, trainer) -> None:
        if not any(k.startswith("val/") for k in trainer.metrics):
            return
        epoch = int(trainer.epoch)
        self.trial.report(float(trainer.metrics.get(self.metric, 0.0)), step=epoch)
        self.reported_epochs.append(epoch)
        self.trial.set_user_attr("pruner_checks", len(self.reported_epochs))
        if self.trial.should_prune():
            self.pruned_at = epoch
            trainer.stop = True

    def raise_if_pruned(self) -> None:
        """Call after `train()` returns: tells Optuna the trial was pruned."""
        if self.pruned_at is not None:
            raise optuna.TrialPruned(f"pruned after epoch {self.pruned_at + 1}")
