"""The in-process detector every engine serves: ONNX Runtime (default) or Ultralytics."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_common.images import ImageRejected, decode_image
from agrorisk_serving.model_source import ONNX_FILE, TORCH_FILE, ModelVersion
from agrorisk_serving.yolo_processing import RawDetection, decode_head, letterbox_batch

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

Engine = Literal["onnxruntime", "ultralytics"]
SOURCE = "yolo"


@dataclass(frozen=True)
class DetectionParams:
    """Thresholds and runtime knobs shared by all engines."""

    conf_threshold: float = 0.25
    iou_threshold: float = 0.45
    max_detections: int = 100
    intra_op_threads: int = 0  # 0: ONNX Runtime picks (all cores)
    device: str = "cpu"  # "auto" (a GPU when the engine can use one), "cpu", "cuda" or "cuda:N"
    batch_threads: int = 0  # CPU threads of the runs of a batch of several images; 0: intra_op_threads


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity: a container's or taskset's limit, not the host's)."""
    return len(os.sched_getaffinity(0))


class DeviceUnavailable(RuntimeError):
    """The configured device cannot be used by this engine on this machine."""


def gpu_index(device: str) -> int | None:
    """The CUDA device index a device setting asks for; None for the CPU. Refuses unknown names."""
    if device == "cpu":
        return None
    if device in ("auto", "cuda"):
        return 0
    name, _, index = device.partition(":")
    if name != "cuda" or not index.isdigit():
        raise DeviceUnavailable(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N")
    return int(index)


def onnx_providers(device: str) -> list:
    """ONNX Runtime execution providers for a device setting: CUDA first when asked for and present."""
    import onnxruntime as ort

    index = gpu_index(device)
    if index is None:
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in ort.get_available_providers():
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    if device == "auto":
        return ["CPUExecutionProvider"]
    raise DeviceUnavailable(
        f"device {device!r}: this ONNX Runtime has no CUDA provider (install onnxruntime-gpu instead of "
        "onnxruntime, or set the device to auto or cpu)"
    )


def torch_device(device: str) -> str:
    """The Ultralytics device for a device setting: a CUDA index when asked for and present, else cpu."""
    import torch

    index = gpu_index(device)
    if index is None:
        return "cpu"
    if torch.cuda.is_available() and index < torch.cuda.device_count():
        return str(index)
    if device == "auto":
        return "cpu"
    raise DeviceUnavailable(f"device {device!r}: PyTorch sees no such CUDA device on this machine")


class Detector(Protocol):
    version: str
    class_names: tuple[str, ...]
    device: str

    def detect(self, images: Sequence[Image.Image]) -> list[list[Detection]]: ...


class _VersionDetector:
    """What every engine keeps of the version it runs: its name, classes, input size, and the params."""

    def __init__(self, model: ModelVersion, params: DetectionParams):
        self.version = model.version
        self.class_names = model.class_names
        self.imgsz = model.imgsz
        self.params = params


class OnnxDetector(_VersionDetector):
    """ONNX Runtime session over an exported YOLO head (no NMS inside), with numpy pre/post-processing."""

    def __init__(self, model: ModelVersion, params: DetectionParams = DetectionParams()):
        super().__init__(model, params)
        self.session = _onnx_session(model, params.intra_op_threads, onnx_providers(params.device))
        self.device = "cuda" if "CUDAExecutionProvider" in self.session.get_providers() else "cpu"
        self.input_name = self.session.get_inputs()[0].name
        # On the CPU a batch runs image by image (cheaper per image than one batched run), on a session
        # of its own with fewer threads: replicas or instances busy side by side then each keep to
        # their cores instead of contending for all of them, while a lone image gets every core.
        threads = params.batch_threads
        self.batch_session = (
            _onnx_session(model, threads, ["CPUExecutionProvider"])
            if self.device == "cpu" and threads and threads != (params.intra_op_threads or cpu_count())
            else self.session
        )

    def detect(self, images: Sequence[Image.Image]) -> list[list[Detection]]:
        batch, boxes = letterbox_batch(images, self.imgsz)
        if self.device == "cuda" or len(batch) == 1:
            output = self.run_head(batch)
        else:
            output = [self.run_head(one[None], self.batch_session)[0] for one in batch]
        p = self.params
        return [
            [
                to_detection(raw, self.class_names)
                for raw in decode_head(out, box, p.conf_threshold, p.iou_threshold, p.max_detections)
            ]
            for out, box in zip(output, boxes, strict=True)
        ]

    def run_head(
        self, batch: NDArray[np.float32], session: InferenceSession | None = None
    ) -> NDArray[np.float32]:
        """The raw head output (images, 4 + classes, anchors) for a letterboxed batch."""
        (output,) = (session or self.session).run(None, {self.input_name: batch})
        if not isinstance(output, np.ndarray):  # a YOLO export's one output is a dense tensor
            raise TypeError(f"the ONNX model returned a {type(output).__name__}, not a dense tensor")
        return output


def _onnx_session(model: ModelVersion, threads: int, providers: list) -> InferenceSession:
    """An ONNX Runtime session on the version's ONNX export with `threads` intra-op threads (0: all)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    # Idle pool threads sleep rather than spin: replicas, Triton instances and the services
    # beside them share the cores, and a spinning thread takes the core a working one needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model.file(ONNX_FILE)), sess_options=options, providers=providers)


class UltralyticsDetector(_VersionDetector):
    """The Ultralytics runtime on the version's best.pt (NMS and letterbox by Ultralytics)."""

    def __init__(self, model: ModelVersion, params: DetectionParams = DetectionParams()):
        from ultralytics import YOLO

        super().__init__(model, params)
        self.device = torch_device(params.device)
        self.yolo = YOLO(str(model.file(TORCH_FILE)), task="detect")
        # Ultralytics' own names for the thresholds, size and device of every predict call
        self.predict_args = {
            "imgsz": self.imgsz,
            "conf": params.conf_threshold,
            "iou": params.iou_threshold,
            "max_det": params.max_detections,
            "device": self.device,
            "verbose": False,
        }

    def detect(self, images: Sequence[Image.Image]) -> list[list[Detection]]:
        results = self.yolo.predict(list(images), **self.predict_args)
        out = []
        for result in results:
            xyxyn, conf, cls = numpy_boxes(result)
            raws = [
                RawDetection(float(x1), float(y1), float(x2), float(y2), float(c), int(k))
                for (x1, y1, x2, y2), c, k in zip(xyxyn, conf, cls, strict=True)
            ]
            out.append([to_detection(r, self.class_names) for r in raws if r.x2 > r.x1 and r.y2 > r.y1])
        return out


def numpy_boxes(result: object) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.int_]]:
    """Normalised xyxy boxes, confidences and class indices of one Ultralytics detection result."""
    from ultralytics.engine.results import Results

    if not isinstance(result, Results) or result.boxes is None:
        raise TypeError(f"not an Ultralytics detection result: {type(result).__name__}")
    boxes = result.boxes.cpu().numpy()
    return np.asarray(boxes.xyxyn), np.asarray(boxes.conf), np.asarray(boxes.cls).astype(int)


def to_detection(raw: RawDetection, class_names: Sequence[str]) -> Detection:
    """A decoded detection as the common contract, the class index mapped to its risk id."""
    return Detection(
        risk_id=class_names[raw.class_index],
        class_index=raw.class_index,
        confidence=min(1.0, max(0.0, raw.confidence)),
        box=Box.clipped(raw.x1, raw.y1, raw.x2, raw.y2),
    )


def load_detector(
    model: ModelVersion, engine: Engine = "onnxruntime", params: DetectionParams = DetectionParams()
) -> Detector:
    """The detector for one pulled version on the chosen engine."""
    if engine == "ultralytics":
        return UltralyticsDetector(model, params)
    return OnnxDetector(model, params)


def predict(detector: Detector, images: Sequence[Image.Image]) -> list[Prediction]:
    """Run one batch and wrap each image's detections as a Prediction (latency = the batch's time)."""
    started = time.perf_counter()
    batches = detector.detect(images)
    latency_ms = (time.perf_counter() - started) * 1000
    return [
        Prediction(
            source=SOURCE,
            detections=detections,
            model_version=detector.version,
            latency_ms=latency_ms,
            image_width=image.width,
            image_height=image.height,
        )
        for image, detections in zip(images, batches, strict=True)
    ]


def decode_and_predict(
    detector: Detector, bodies: Sequence[bytes], max_bytes: int, max_pixels: int
) -> list[Prediction | ImageRejected]:
    """Decode a batch of request bodies and run the decodable ones as one model batch (a bad image
    fails alone)."""
    decoded: list[Image.Image | ImageRejected] = []
    for body in bodies:
        try:
            decoded.append(decode_image(body, max_bytes, max_pixels).image)
        except ImageRejected as exc:
            decoded.append(exc)
    images = [d for d in decoded if not isinstance(d, ImageRejected)]
    predictions = iter(predict(detector, images) if images else [])
    return [d if isinstance(d, ImageRejected) else next(predictions) for d in decoded]
