"""Generate a Triton model repository from a registry version, for NVIDIA's Triton container.

    <repo>/agrorisk_onnx/config.pbtxt        onnxruntime backend, dynamic batching, instance group,
    <repo>/agrorisk_onnx/<n>/model.onnx      version policy "latest 1" (registry v<n> -> version n)
    <repo>/agrorisk_detector/config.pbtxt    Python backend: image bytes in, detections out
    <repo>/agrorisk_detector/1/model.py      decode + letterbox, BLS call to agrorisk_onnx, decode + NMS
    <repo>/agrorisk_detector/1/yolo_processing.py   the same numpy code the in-process detector runs

Configs are built as `ModelConfig` protobufs and printed as text, so they are valid by construction.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from agrorisk_serving import yolo_processing
from agrorisk_serving.model_source import ONNX_FILE, ModelVersion
from agrorisk_serving.triton_tensors import MODEL_NAME
from agrorisk_triton.settings import Settings

# protobuf's builder creates the message classes at import time and tritonclient ships no .pyi
# for them, so the type checker cannot see any of their names
pb: Any = model_config_pb2
type ModelConfig = Any  # an inference.ModelConfig message

ONNX_MODEL = "agrorisk_onnx"
ONNX_INPUT, ONNX_OUTPUT = "images", "output0"


def triton_version(version: str) -> int:
    """Registry "v7" -> Triton version 7."""
    return int(version.removeprefix("v"))


def _batching(config: ModelConfig, settings: Settings) -> None:
    config.max_batch_size = settings.max_batch_size
    config.dynamic_batching.max_queue_delay_microseconds = settings.max_queue_delay_us
    config.dynamic_batching.preferred_batch_size.extend(
        sorted({size for size in (settings.max_batch_size // 2, settings.max_batch_size) if size > 0})
    )
    config.instance_group.add(
        count=settings.instances, kind=pb.ModelInstanceGroup.Kind.Value(settings.instance_kind)
    )


def onnx_config(model: ModelVersion, settings: Settings) -> ModelConfig:
    config = pb.ModelConfig(name=ONNX_MODEL, platform="onnxruntime_onnx")
    config.version_policy.latest.num_versions = 1
    config.input.add(name=ONNX_INPUT, data_type=pb.TYPE_FP32, dims=[3, model.imgsz, model.imgsz])
    config.output.add(name=ONNX_OUTPUT, data_type=pb.TYPE_FP32, dims=[4 + len(model.class_names), -1])
    _batching(config, settings)
    return config


def detector_config(model: ModelVersion, settings: Settings) -> ModelConfig:
    config = pb.ModelConfig(name=MODEL_NAME, backend="python")
    config.input.add(name="IMAGE", data_type=pb.TYPE_STRING, dims=[1])
    for name, dtype, dims in (
        ("DETECTIONS", pb.TYPE_FP32, [settings.max_detections, 6]),
        ("NUM_DETECTIONS", pb.TYPE_INT32, [1]),
        ("IMAGE_SIZE", pb.TYPE_INT32, [2]),
        ("MODEL_VERSION", pb.TYPE_STRING, [1]),
        ("CLASS_NAMES", pb.TYPE_STRING, [1]),
        ("LATENCY_MS", pb.TYPE_FP32, [1]),
        ("ERROR", pb.TYPE_STRING, [1]),
    ):
        config.output.add(name=name, data_type=dtype, dims=dims)
    _batching(config, settings)
    parameters = {
        "onnx_model": ONNX_MODEL,
        "model_version": model.version,
        "class_names": json.dumps(list(model.class_names)),
        "imgsz": str(model.imgsz),
        "conf_threshold": str(settings.conf_threshold),
        "iou_threshold": str(settings.iou_threshold),
        "max_detections": str(settings.max_detections),
        "max_image_bytes": str(settings.max_image_bytes),
        "max_image_pixels": str(settings.max_image_pixels),
    }
    for key, value in parameters.items():
        config.parameters[key].string_value = value
    return config


def _write_config(path: Path, config: ModelConfig) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text_format.MessageToString(config))


def write_repository(model: ModelVersion, out_dir: Path, settings: Settings) -> Path:
    """Write (or update) the repository for `model`; older ONNX versions stay until Triton unloads them
    (version policy "latest 1") and `prune_versions` removes them."""
    out_dir = Path(out_dir)
    version_dir = out_dir / ONNX_MODEL / str(triton_version(model.version))
    version_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(model.file(ONNX_FILE), version_dir / "model.onnx")
    _write_config(out_dir / ONNX_MODEL / "config.pbtxt", onnx_config(model, settings))
    code_dir = out_dir / MODEL_NAME / "1"
    code_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(yolo_processing.__file__), code_dir / "yolo_processing.py")
    backend = resources.files("agrorisk_triton") / "triton_backend" / "model.py"
    (code_dir / "model.py").write_text(backend.read_text())
    _write_config(out_dir / MODEL_NAME / "config.pbtxt", detector_config(model, settings))
    return out_dir


def prune_versions(out_dir: Path, keep: int) -> list[int]:
    """Delete ONNX version folders other than `keep`; returns the removed version numbers."""
    removed = []
    for path in (Path(out_dir) / ONNX_MODEL).iterdir():
        if path.is_dir() and path.name.isdigit() and int(path.name) != keep:
            shutil.rmtree(path)
            removed.append(int(path.name))
    return sorted(removed)
