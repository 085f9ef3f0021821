"""Predict photos from the command line with the serving engine itself, so the answers equal the
server's for the same photo, version and thresholds: a table, contract JSON, annotated images."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from agrorisk_common.annotate import annotate
from agrorisk_common.catalog import Catalog
from agrorisk_common.detection import Prediction
from agrorisk_common.images import ImageRejected, decode_image, encode_jpeg
from agrorisk_common.yolo_data import IMAGE_SUFFIXES
from agrorisk_serving.detector import DetectionParams, Engine, load_detector, predict
from agrorisk_serving.model_source import ONNX_FILE, TORCH_FILE, ModelVersion


def local_model(path: Path) -> tuple[ModelVersion, Engine]:
    """A model file outside the registry: best.onnx (ONNX Runtime, class names and image size from
    the export's metadata) or best.pt (Ultralytics)."""
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    if path.suffix == ".onnx":
        import onnxruntime as ort

        meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
        props = meta.custom_metadata_map
        if "names" not in props:
            raise ValueError(
                f"{path}: no class names in the ONNX metadata (export it with agrorisk-train export)"
            )
        names = ast.literal_eval(props["names"])
        imgsz = max(ast.literal_eval(props.get("imgsz", "[640]")))
        engine: Engine = "onnxruntime"
    elif path.suffix == ".pt":
        from ultralytics import YOLO

        model = YOLO(str(path), task="detect")
        names = model.names
        ckpt = model.ckpt  # a dict when loaded from a .pt file
        train_args = ckpt.get("train_args") if isinstance(ckpt, dict) else None
        imgsz = int(train_args.get("imgsz", 640)) if isinstance(train_args, dict) else 640
        engine = "ultralytics"
    else:
        raise ValueError(f"{path}: a model is a .onnx or .pt file")
    version = ModelVersion(f"file:{path.name}", path.parent, tuple(names[i] for i in sorted(names)), imgsz)
    target = ONNX_FILE if engine == "onnxruntime" else TORCH_FILE
    if path.name != target:  # the engines open best.onnx / best.pt inside the version's folder
        raise ValueError(f"{path}: name the file {target} (the serving engines load that name)")
    return version, engine


def names_of(risk_id: str, catalog: Catalog) -> dict[str, str]:
    """The risk's Ukrainian and English names; the id itself for a class outside the catalog."""
    if risk_id not in catalog:
        return {"name_uk": risk_id, "name_en": risk_id}
    risk = catalog.get(risk_id)
    return {"name_uk": risk.name_uk, "name_en": risk.name_en}


def photos_in(target: Path) -> list[Path]:
    """The photo itself, or every photo under a folder (sorted)."""
    if target.is_file():
        return [target]
    if target.is_dir():
        found = sorted(p for p in target.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if found:
            return found
        raise ValueError(f"{target}: no photos ({', '.join(IMAGE_SUFFIXES)})")
    raise FileNotFoundError(f"no such photo or folder: {target}")


@dataclass
class PhotoResult:
    photo: Path
    prediction: Prediction | None
    error: str | None = None
    image: Image.Image | None = None  # the decoded photo, drawn on by write_outputs


def predict_photos(
    photos: list[Path], model: ModelVersion, engine: Engine, params: DetectionParams, batch: int = 8
) -> Iterator[PhotoResult]:
    """Decode each photo as the server does (size/pixel limits, EXIF rotation) and predict in batches."""
    detector = load_detector(model, engine, params)
    for start in range(0, len(photos), batch):
        chunk, images, results = photos[start : start + batch], [], {}
        for photo in chunk:
            try:
                images.append((photo, decode_image(photo.read_bytes()).image))
            except (OSError, ImageRejected) as exc:  # a bad photo is reported, the others go on
                results[photo] = PhotoResult(photo, None, str(exc))
        predictions = predict(detector, [image for _, image in images]) if images else []
        for (photo, image), prediction in zip(images, predictions, strict=True):
            results[photo] = PhotoResult(photo, prediction, image=image)
        yield from (results[p] for p in chunk)


def write_outputs(result: PhotoResult, out_dir: Path, catalog: Catalog) -> None:
    """`<stem>.json` (the detection contract) and `<stem>.jpg` with the boxes drawn and named."""
    if result.prediction is None or result.image is None:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = result.photo.stem
    (out_dir / f"{stem}.json").write_text(
        json.dumps({"photo": result.photo.name, **result.prediction.model_dump(mode="json")}, indent=2)
    )
    named = [d.model_dump(mode="json") | names_of(d.risk_id, catalog) for d in result.prediction.detections]
    (out_dir / f"{stem}.jpg").write_bytes(encode_jpeg(annotate(result.image, named)))
