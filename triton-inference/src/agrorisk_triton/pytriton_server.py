"""A local Triton (the `tritonserver` bundled with PyTriton) serving our ONNX Runtime detector.

PyTriton bundles only Triton's Python backend, so the model here is a bound Python function that
runs the same in-process detector as Ray Serve; NVIDIA's Triton container serves the generated
model repository with the onnxruntime backend instead (see `model_repository`).
"""

from __future__ import annotations

import logging
import os
import sysconfig
import time
from collections.abc import Callable
from typing import cast

import numpy as np
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

from agrorisk_common.images import ImageRejected
from agrorisk_serving.detector import decode_and_predict, load_detector
from agrorisk_serving.hot_reload import HotModel
from agrorisk_serving.model_source import ModelSource
from agrorisk_serving.triton_tensors import INPUT, MODEL_NAME, pack_outputs
from agrorisk_storage import StorageSettings
from agrorisk_triton.settings import Settings

log = logging.getLogger(__name__)


def ensure_libpython_visible() -> None:
    """Triton's Python-backend stub links libpython: without it on LD_LIBRARY_PATH, bind() hangs
    ~120 s. tritonserver is a child process, so setting it here before start is enough."""
    libdir = sysconfig.get_config_var("LIBDIR")
    paths = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
    if libdir and libdir not in paths:
        os.environ["LD_LIBRARY_PATH"] = os.pathsep.join([libdir, *paths])


def make_infer(model: HotModel, settings: Settings):
    """The batched inference function: decode each image (bad ones fail alone), detect, pack."""

    @batch
    def infer(IMAGE: np.ndarray) -> dict[str, np.ndarray]:  # noqa: N803 - Triton tensor name
        detector = model.detector  # a reload during this batch does not affect it
        bodies = [bytes(data) for data in IMAGE.reshape(len(IMAGE), -1)[:, 0]]
        if detector is None:
            rejected = ImageRejected("no_model", f"no model loaded: {model.last_error or 'loading'}", 503)
            return pack_outputs([rejected] * len(bodies), (), settings.max_detections)
        results = decode_and_predict(detector, bodies, settings.max_image_bytes, settings.max_image_pixels)
        return pack_outputs(results, detector.class_names, settings.max_detections)

    return infer


class DetectorServer:
    """Starts Triton, binds `agrorisk_detector`, and keeps it on the alias' version."""

    def __init__(self, settings: Settings, storage: StorageSettings):
        self.settings = settings
        self.model = HotModel(
            ModelSource.from_settings(storage, settings.model_alias),
            lambda version: load_detector(version, "onnxruntime", settings.detection_params),
        )
        self.triton: Triton | None = None

    def start(self) -> None:
        s = self.settings
        self.model.check()
        ensure_libpython_visible()
        # PyTriton's kwonly_dataclass (a wrapt decorator) hides TritonConfig's fields from type checkers
        config = cast(Callable[..., object], TritonConfig)(
            http_address=s.host,
            http_port=s.http_port,
            grpc_address=s.host,
            grpc_port=s.grpc_port,
            metrics_address=s.host,
            metrics_port=s.metrics_port,
            exit_on_error=True,
        )
        self.triton = Triton(config=config)
        self.triton.bind(
            model_name=MODEL_NAME,
            infer_func=[make_infer(self.model, s) for _ in range(s.instances)],
            inputs=[Tensor(name=INPUT, dtype=bytes, shape=(1,))],
            outputs=[
                Tensor(name="DETECTIONS", dtype=np.float32, shape=(s.max_detections, 6)),
                Tensor(name="NUM_DETECTIONS", dtype=np.int32, shape=(1,)),
                Tensor(name="IMAGE_SIZE", dtype=np.int32, shape=(2,)),
                Tensor(name="MODEL_VERSION", dtype=bytes, shape=(1,)),
                Tensor(name="CLASS_NAMES", dtype=bytes, shape=(1,)),
                Tensor(name="LATENCY_MS", dtype=np.float32, shape=(1,)),
                Tensor(name="ERROR", dtype=bytes, shape=(1,)),
            ],
            config=ModelConfig(
                max_batch_size=s.max_batch_size,
                batcher=DynamicBatcher(max_queue_delay_microseconds=s.max_queue_delay_us),
            ),
            strict=True,
        )
        self.triton.run()
        if s.reload_interval_s:
            self.model.watch(s.reload_interval_s)

    def serve_forever(self) -> None:
        """Block until interrupted (Ctrl+C / SIGTERM), then stop."""
        try:
            while self.triton is not None and self.triton.is_alive():
                time.sleep(1)
        except KeyboardInterrupt:
            log.info("interrupted, stopping Triton")
        finally:
            self.stop()

    def stop(self) -> None:
        self.model.stop()
        if self.triton:
            self.triton.stop()
            self.triton = None
