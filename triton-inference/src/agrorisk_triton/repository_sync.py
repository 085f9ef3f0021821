"""Keep a real Triton (NVIDIA's container, `--model-control-mode=explicit`) on the alias' version:
write the new version into the model repository, then load it through Triton's repository API.

Triton swaps models without dropping requests: in-flight ones finish on the old version, and the
"latest 1" version policy unloads it once the new one is ready; its folder is then pruned.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import tritonclient.http as triton_http

from agrorisk_serving.model_source import ModelSource
from agrorisk_serving.triton_tensors import MODEL_NAME
from agrorisk_triton.model_repository import ONNX_MODEL, prune_versions, triton_version, write_repository
from agrorisk_triton.settings import Settings

log = logging.getLogger(__name__)


class RepositorySync:
    """Deploys the alias' version into `repo_dir` and has the Triton at `url` load it."""

    def __init__(self, source: ModelSource, repo_dir: Path, settings: Settings, url: str):
        self.source, self.repo_dir, self.settings = source, Path(repo_dir), settings
        self.client = triton_http.InferenceServerClient(url)
        self.deployed: str | None = None

    def sync(self) -> str | None:
        """Deploy the alias' version if it is new; returns the version deployed now, else None."""
        version = self.source.current_version()
        if version == self.deployed:
            return None
        model = self.source.pull(version)
        write_repository(model, self.repo_dir, self.settings)
        self.client.load_model(ONNX_MODEL)  # loads version n; "latest 1" unloads n-1
        self.client.load_model(MODEL_NAME)  # re-reads the version and class names parameters
        prune_versions(self.repo_dir, keep=triton_version(version))
        log.info("Triton now serves %s (was %s)", version, self.deployed)
        self.deployed = version
        return version

    def watch(self, interval_s: float) -> None:
        """Sync every `interval_s` seconds until interrupted; failures are logged and retried."""
        while True:
            try:
                self.sync()
            except Exception as exc:  # a down Triton or registry must not end the watcher
                log.warning("sync failed, retrying in %.0f s: %s", interval_s, exc)
            time.sleep(interval_s)
