"""Export a trained model for serving (ONNX, optionally TorchScript) and prove the ONNX graph
computes what the PyTorch model computes on the same image."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from agrorisk_train import offline
from agrorisk_train.settings import TrainSettings

log = logging.getLogger(__name__)


class ExportMismatch(ValueError):
    """The exported ONNX model disagrees with the PyTorch model beyond the tolerance."""


@dataclass(frozen=True)
class ExportResult:
    onnx_path: Path
    torchscript_path: Path | None
    max_abs_diff: float
    tolerance: float
    imgsz: int


def export_onnx(
    best_pt: str | Path,
    settings: TrainSettings,
    *,
    imgsz: int | None = None,
    torchscript: bool = False,
    image: str | Path | None = None,
) -> ExportResult:
    """Write `best.onnx` (raw head output [N, 4+nc, anchors], no NMS, dynamic batch) next to `best_pt`,
    optionally `best.torchscript`, and check ONNX Runtime against PyTorch on `image`
    (default: an Ultralytics sample image). Raises ExportMismatch when they differ by more than
    `settings.export_atol`."""
    best_pt = Path(best_pt)
    if not best_pt.is_file():
        raise FileNotFoundError(f"weights not found: {best_pt}")
    offline.ultralytics_settings(settings.project_dir, settings.config_dir)
    from ultralytics import YOLO
    from ultralytics.utils import ASSETS

    model = YOLO(str(best_pt))
    ckpt = cast("dict[str, Any]", model.ckpt)  # a .pt model's loaded checkpoint
    imgsz = imgsz or int(ckpt.get("train_args", {}).get("imgsz", settings.imgsz))
    onnx_path = Path(
        model.export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True, nms=False, device="cpu")
    )
    torchscript_path = None
    if torchscript:
        torchscript_path = Path(YOLO(str(best_pt)).export(format="torchscript", imgsz=imgsz, device="cpu"))
    batch = letterboxed_batch(image or ASSETS / "bus.jpg", imgsz)
    diff = max_abs_difference(best_pt, onnx_path, batch)
    log.info(
        "ONNX vs PyTorch on the same image: max |diff| = %.3g (tolerance %.3g)", diff, settings.export_atol
    )
    if not diff <= settings.export_atol:
        raise ExportMismatch(f"ONNX output differs from PyTorch by {diff:.3g} > {settings.export_atol:.3g}")
    return ExportResult(onnx_path, torchscript_path, diff, settings.export_atol, imgsz)


def letterboxed_batch(image: str | Path, imgsz: int) -> np.ndarray:
    """The serving input for one image: RGB, letterboxed to imgsz×imgsz, float32 0..1, [1, 3, S, S]."""
    import cv2
    from ultralytics.data.augment import LetterBox

    bgr = cv2.imread(str(image))
    if bgr is None:
        raise ValueError(f"not a readable image: {image}")
    boxed = cast("np.ndarray", LetterBox(new_shape=(imgsz, imgsz), auto=False, scaleup=True)(image=bgr))
    rgb = boxed[..., ::-1].transpose(2, 0, 1)
    return np.ascontiguousarray(rgb, dtype=np.float32)[None] / 255.0


def max_abs_difference(best_pt: Path, onnx_path: Path, batch: np.ndarray) -> float:
    """Largest absolute difference between PyTorch and ONNX Runtime raw outputs on the same input."""
    import onnxruntime as ort
    import torch
    from ultralytics.nn.tasks import load_checkpoint

    model, _ = load_checkpoint(str(best_pt), device="cpu", fuse=True)
    model = model.float().eval()
    with torch.inference_mode():
        out = model(torch.from_numpy(batch))
    reference = (out[0] if isinstance(out, (list, tuple)) else out).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    outputs = cast("list[np.ndarray]", session.run(None, {session.get_inputs()[0].name: batch}))  # dense head
    (exported,) = outputs[:1]
    if exported.shape != reference.shape:
        raise ExportMismatch(f"ONNX output shape {exported.shape} != PyTorch {reference.shape}")
    return float(np.abs(exported - reference).max())
