"""Shared fixtures: offline environment, the real catalog, and pools of procedurally drawn leaves."""

from __future__ import annotations

import io
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="agrorisk-labeling-yolo-"))
_font = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics" / "Arial.ttf"
if not _font.exists():  # Ultralytics asks GitHub for this font otherwise
    import matplotlib

    _font.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", _font)

from agrorisk_common.catalog import Catalog, load_catalog  # noqa: E402
from agrorisk_common.procedural import draw_leaf  # noqa: E402
from agrorisk_labeling.labels import ImageLabels, LabelBox, LabelSource, LabelStore  # noqa: E402
from agrorisk_labeling.manifest import append_rows, image_row, images_dir_of, labels_path_of  # noqa: E402


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def no_labellers(monkeypatch) -> None:
    """No production model and no Gemini key: the default (`auto`) labeller chain is empty."""
    for name in (
        "AGRORISK_GEMINI_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "AGRORISK_LABELING_YOLO_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AGRORISK_LABELING_LABELLERS", raising=False)


@pytest.fixture(scope="session")
def risk_ids(catalog: Catalog) -> list[str]:
    """Two real catalog risks: enough for multi-class behaviour, small enough to stay fast."""
    return [r.id for r in catalog][:2]


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def near_duplicate(image: Image.Image) -> Image.Image:
    """The same photo slightly brighter, as a re-upload elsewhere would be."""
    return ImageEnhance.Brightness(image).enhance(1.04)


@dataclass
class Pool:
    manifest: Path
    near_duplicates: list[tuple[str, str]]  # (original sha256, re-upload sha256)
    synthetic: list[str]


@pytest.fixture
def make_pool(tmp_path: Path, risk_ids: list[str]) -> Callable[..., Pool]:
    """Build a crawler-style pool: images/<risk>/<sha>.jpg + manifest.csv (+ labels.jsonl when asked).

    `duplicates` near-duplicate copies are added per class; `labelled=True` writes the true lesion
    boxes as imported labels; `synthetic` adds that many synthetic images of the first class.
    """

    def make(
        per_class: int = 8,
        duplicates: int = 2,
        labelled: bool = False,
        synthetic: int = 0,
        seed: int = 0,
        size: int = 96,
    ) -> Pool:
        manifest = tmp_path / f"pool-{seed}" / "manifest.csv"
        images_dir = images_dir_of(manifest)
        rng = random.Random(seed)
        rows, store = [], LabelStore.load(labels_path_of(manifest))
        pool = Pool(manifest, [], [])

        def add(image: Image.Image, risk_id: str, boxes: list, is_synthetic: bool = False) -> str:
            engine = "diffusers" if is_synthetic else "test"
            row = image_row(
                jpeg(image), risk_id, images_dir, query=risk_id, engine=engine, synthetic=is_synthetic
            )
            rows.append(row)
            if labelled:
                label_boxes = [
                    LabelBox(risk_id=risk_id, **b.model_dump(), confidence=1.0, source=LabelSource.IMPORT)
                    for b in boxes
                ]
                store.put(
                    ImageLabels(
                        sha256=row["sha256"], file=row["file"], source=LabelSource.IMPORT, boxes=label_boxes
                    )
                )
            return row["sha256"]

        for index, risk_id in enumerate(risk_ids):
            for k in range(per_class):
                image, boxes = draw_leaf(index, rng, size)
                original = add(image, risk_id, boxes)
                if k < duplicates:
                    pool.near_duplicates.append((original, add(near_duplicate(image), risk_id, boxes)))
        for _ in range(synthetic):
            image, boxes = draw_leaf(0, rng, size)
            pool.synthetic.append(add(image, risk_ids[0], boxes, is_synthetic=True))
        append_rows(manifest, rows)
        store.save()
        return pool

    return make


THEIR_NAMES = ["leaf-spot", "rust-pustule"]


@dataclass
class Trained:
    their_yolo: Path  # the user's dataset, with their own class names
    mapping: Path
    dataset: Path  # our dataset built from it (import --format yolo, then build)
    weights: Path  # Ultralytics best.pt trained on our dataset (1 epoch)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, risk_ids) -> Trained:
    """Import a user's YOLO set through the CLI, build our dataset, train YOLO11n on it for one epoch."""
    from typer.testing import CliRunner
    from ultralytics import YOLO

    from agrorisk_common.procedural import generate_leaf_dataset
    from agrorisk_labeling.cli import app

    root = tmp_path_factory.mktemp("trained")
    their = root / "their-yolo"
    generate_leaf_dataset(their, THEIR_NAMES, images_per_class=6, imgsz=96, seed=5)
    mapping = root / "map.csv"
    mapping.write_text(
        "source_class,risk_id\n" + "".join(f"{n},{r}\n" for n, r in zip(THEIR_NAMES, risk_ids, strict=True))
    )
    manifest = root / "pool" / "manifest.csv"
    runner = CliRunner()
    for args in (
        ["import", "--format", "yolo", "--src", their, "--mapping", mapping, "--manifest", manifest],
        ["build", "--manifest", manifest, "--out", root / "ds", "--val", "0.25", "--test", "0"],
    ):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
    model = YOLO("yolo11n.yaml")
    model.train(
        data=str(root / "ds" / "data.yaml"),
        epochs=1,
        imgsz=64,
        batch=4,
        workers=0,
        device="cpu",
        amp=False,
        plots=False,
        pretrained=False,
        project=str(root / "runs"),
        name="t",
        verbose=False,
    )
    return Trained(their, mapping, root / "ds", root / "runs" / "t" / "weights" / "best.pt")
