"""Offline W&B runs (written when no W&B server is reachable) uploaded once one is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SYNCED = ".agrorisk-synced"  # marker in a run folder that has been uploaded


def offline_runs(root: Path) -> list[Path]:
    """Offline run folders under `root` (`…/wandb/offline-run-*`) not uploaded yet, oldest first."""
    runs = [p for p in root.rglob("offline-run-*") if p.is_dir() and p.parent.name == "wandb"]
    return sorted((p for p in runs if not (p / SYNCED).exists()), key=lambda p: p.name)


def sync_offline_runs(root: Path) -> tuple[list[Path], list[str]]:
    """`wandb sync` each offline run under `root` to the server of WANDB_BASE_URL with WANDB_API_KEY;
    returns (uploaded runs, one error line per run that failed). Raises ValueError without a key."""
    if not os.environ.get("WANDB_API_KEY"):
        waiting = len(offline_runs(root))
        raise ValueError(
            f"W&B is not configured: set WANDB_API_KEY (and WANDB_BASE_URL for a local server); "
            f"{waiting} offline run(s) wait under {root}"
        )
    synced, errors = [], []
    for run in offline_runs(root):
        done = subprocess.run(
            [sys.executable, "-m", "wandb", "sync", str(run)], capture_output=True, text=True, timeout=600
        )
        if done.returncode == 0:
            (run / SYNCED).touch()
            synced.append(run)
        else:
            lines = (done.stderr or done.stdout).strip().splitlines()
            errors.append(f"{run.name}: {lines[-1] if lines else f'exit code {done.returncode}'}")
    return synced, errors
