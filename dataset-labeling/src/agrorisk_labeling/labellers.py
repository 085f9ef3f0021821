"""Pluggable box proposers for auto-labelling: the current YOLO model, Gemini, or (only when asked) the
whole image.

A crawled image's weak class is the risk it was crawled for; a labeller proposes where that risk is.
An image no labeller can box is not given a guess: it waits for review in Label Studio.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from PIL import Image

from agrorisk_common.catalog import Catalog
from agrorisk_common.detection import Prediction
from agrorisk_labeling.errors import LabelingError
from agrorisk_labeling.labels import WHOLE_IMAGE_REQUESTED, LabelBox, LabelSource
from agrorisk_labeling.settings import Settings

if TYPE_CHECKING:
    from ultralytics.engine.results import Results

WHOLE_IMAGE_CONFIDENCE = 0.0  # nothing vouches for the box itself, only for the class


class Labeller(Protocol):
    source: LabelSource

    async def propose(self, image: bytes, weak_risk_id: str) -> list[LabelBox]:
        """Boxes of the weak risk found in the image; empty when this labeller found none."""
        ...


class WholeImageLabeller:
    """On request only (close-up leaf photos): one box over the whole image for its weak risk."""

    source = LabelSource.WHOLE_IMAGE

    async def propose(self, image: bytes, weak_risk_id: str) -> list[LabelBox]:
        del image  # the box is the whole image whatever it shows
        if not weak_risk_id:
            return []
        return [
            LabelBox(
                risk_id=weak_risk_id,
                x1=0.0,
                y1=0.0,
                x2=1.0,
                y2=1.0,
                confidence=WHOLE_IMAGE_CONFIDENCE,
                source=self.source,
                model_version=WHOLE_IMAGE_REQUESTED,
            )
        ]


class YoloLabeller:
    """Pseudo-labels from an Ultralytics model: boxes of the weak risk above a confidence."""

    source = LabelSource.YOLO

    def __init__(self, weights: Path, confidence: float, model_version: str | None = None):
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_AUTOINSTALL", "false")
        from ultralytics import YOLO

        if not weights.is_file():
            raise LabelingError(f"YOLO weights not found: {weights}")
        try:
            self.model = YOLO(str(weights))
        except Exception as exc:  # ultralytics raises many types for a broken checkpoint
            raise LabelingError(f"cannot load YOLO weights {weights}: {exc}") from None
        self.confidence = confidence
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
        self.model_version = model_version or f"{weights.name}@{digest}"

    async def propose(self, image: bytes, weak_risk_id: str) -> list[LabelBox]:
        with Image.open(io.BytesIO(image)) as img:
            results = self.model.predict(img.convert("RGB"), conf=self.confidence, verbose=False)
        result = cast("list[Results]", results)[0]  # stream=False: a list of Results
        if result.boxes is None:
            raise LabelingError(f"{self.model_version} is not a detection model: it gives no boxes")
        names = result.names
        boxes = []
        for xyxyn, cls, conf in zip(
            result.boxes.xyxyn.tolist(), result.boxes.cls.tolist(), result.boxes.conf.tolist(), strict=True
        ):
            risk_id = names[int(cls)]
            if weak_risk_id and risk_id != weak_risk_id:
                continue
            boxes.append(
                LabelBox(
                    risk_id=risk_id,
                    x1=xyxyn[0],
                    y1=xyxyn[1],
                    x2=xyxyn[2],
                    y2=xyxyn[3],
                    confidence=round(float(conf), 4),
                    source=self.source,
                    model_version=self.model_version,
                )
            )
        return boxes


class DetectorClient(Protocol):
    """What `agrorisk_common.serving.DetectorClient` promises (Gemini client, serving clients)."""

    name: str

    async def predict(self, image: bytes) -> Prediction: ...


class DetectorLabeller:
    """Boxes from any detector client, e.g. gemini-integration's GeminiDetector."""

    def __init__(self, client: DetectorClient, source: LabelSource = LabelSource.GEMINI):
        self.client, self.source = client, source

    async def propose(self, image: bytes, weak_risk_id: str) -> list[LabelBox]:
        prediction = await self.client.predict(image)
        if prediction.error:
            return []
        instruction = getattr(self.client, "instruction", None)
        prompt = (
            hashlib.sha256(instruction.encode()).hexdigest()[:12] if isinstance(instruction, str) else None
        )
        return [
            LabelBox.from_detection(
                d,
                self.source,
                model_version=prediction.model_version,
                prompt=prompt,
                cost_usd=prediction.cost_usd,
            )
            for d in prediction.detections
            if not weak_risk_id or d.risk_id == weak_risk_id
        ]


def resolve_yolo_weights(ref: str) -> tuple[Path, str | None]:
    """A best.pt path as is, or a model registry ref ("v3", "production") pulled via minio-storage."""
    path = Path(ref)
    if path.is_file():
        return path, None
    if path.suffix == ".pt" or "/" in ref:
        raise LabelingError(f"YOLO weights not found: {ref}")
    try:
        from agrorisk_storage import ModelRegistry, RegistryError, StorageSettings
    except ImportError:
        raise LabelingError(
            f"{ref!r} is not a file and the model registry (agrorisk-minio-storage) is not installed"
        ) from None
    try:
        registry = ModelRegistry.from_settings(StorageSettings())
        info = registry.show(ref)
        folder = registry.pull(ref)
    except RegistryError as exc:
        raise LabelingError(f"cannot pull model {ref!r} from the registry: {exc}") from None
    weights = Path(folder) / "best.pt"
    if not weights.is_file():
        raise LabelingError(f"model version {info.version} has no best.pt")
    return weights, f"registry:{info.version}"


def gemini_labeller(catalog: Catalog) -> DetectorLabeller:
    """Gemini through gemini-integration's client (configured by its own AGRORISK_GEMINI_* settings)."""
    try:
        from agrorisk_gemini.client import GeminiDetector
        from agrorisk_gemini.settings import GeminiSettings
    except ImportError:
        raise LabelingError(
            "the gemini labeller needs agrorisk_gemini.GeminiDetector (package agrorisk-gemini-integration)"
        ) from None
    try:
        settings = GeminiSettings()
        if not settings.configured:
            raise LabelingError("the gemini labeller needs a Gemini API key (AGRORISK_GEMINI_API_KEY)")
        client = GeminiDetector(settings, catalog)
    except (ValueError, KeyError) as exc:
        raise LabelingError(f"cannot configure the Gemini labeller: {exc}") from None
    return DetectorLabeller(client, LabelSource.GEMINI)


def gemini_configured() -> bool:
    """A Gemini API key is set (gemini-integration's own settings)."""
    try:
        from agrorisk_gemini.settings import GeminiSettings

        return GeminiSettings().configured
    except (ImportError, ValueError):
        return False


def build_labellers(settings: Settings, catalog: Catalog) -> list[Labeller]:
    """The labeller chain named in settings, e.g. `auto`, `yolo,gemini`, `auto,whole-image`.

    `auto` is YOLO when a model is set and Gemini when a key is set (either may be absent, and then the
    chain may be empty: every image waits for review). `yolo` and `gemini` named explicitly must work.
    `whole-image` joins only when named (`--whole-image`), always last."""
    names = [n.strip() for n in settings.labellers.split(",") if n.strip()]
    wanted: list[str] = []
    for name in names:
        if name == "auto":
            wanted += ["yolo"] if settings.yolo_model else []
            wanted += ["gemini"] if gemini_configured() else []
        elif name in ("yolo", "gemini", "whole-image"):
            wanted.append(name)
        else:
            raise LabelingError(f"unknown labeller {name!r}; known: auto, yolo, gemini, whole-image")
    chain: list[Labeller] = []
    for name in dict.fromkeys(n for n in wanted if n != "whole-image"):
        if name == "yolo":
            if not settings.yolo_model:
                raise LabelingError("the yolo labeller needs a model: --yolo-model PATH|REF")
            weights, version = resolve_yolo_weights(settings.yolo_model)
            chain.append(YoloLabeller(weights, settings.yolo_confidence, version))
        else:
            chain.append(gemini_labeller(catalog))
    if "whole-image" in wanted:
        chain.append(WholeImageLabeller())
    return chain
