"""Serve the model version an alias points at, and swap to a new one while serving.

The new detector is loaded and warmed up beside the old one, then one reference assignment swaps
them: a batch that already took the old detector finishes on it, so no request is dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PIL import Image

from agrorisk_serving.detector import Detector
from agrorisk_serving.model_source import ModelSource, ModelUnavailable, ModelVersion

log = logging.getLogger(__name__)

WARMUP_IMAGE_SIZE = (64, 48)


class HotModel:
    """Holds the current detector; `check()` loads the alias' version when it moved."""

    def __init__(
        self,
        source: ModelSource,
        load: Callable[[ModelVersion], Detector],
        on_swap: Callable[[str | None, str], None] | None = None,
    ):
        self.source, self.load, self.on_swap = source, load, on_swap
        self.detector: Detector | None = None
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @property
    def version(self) -> str | None:
        detector = self.detector
        return detector.version if detector else None

    def check(self) -> bool:
        """Load the alias' version if it is not the one served; True when a swap happened.

        A failure keeps the old detector serving and is remembered in `last_error`.
        """
        with self._lock:
            try:
                wanted = self.source.current_version()
                if wanted == self.version:
                    return False
                detector = self.load(self.source.pull(wanted))
                blank = Image.new("RGB", WARMUP_IMAGE_SIZE)
                detector.detect([blank])  # a lone image's path,
                detector.detect([blank, blank])  # and a batch's (its own session on the CPU)
            except (ModelUnavailable, OSError, ValueError, RuntimeError) as exc:
                self.last_error = str(exc)
                log.warning("model reload failed, still serving %s: %s", self.version, exc)
                return False
            old, self.detector, self.last_error = self.version, detector, None
            log.info("now serving model %s (was %s)", detector.version, old)
            if self.on_swap:
                self.on_swap(old, detector.version)
            return True

    def watch(self, interval_s: float) -> threading.Thread:
        """Check every `interval_s` seconds in a daemon thread until `stop()`."""

        def loop() -> None:
            while not self._stop.wait(interval_s):
                self.check()

        thread = threading.Thread(target=loop, name="agrorisk-model-watch", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
