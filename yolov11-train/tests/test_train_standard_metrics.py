"""Our mAP is the standard one: on the same weights and the same real photos it equals `yolo val`'s."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agrorisk_common.yolo_data import class_subset
from agrorisk_train import offline
from agrorisk_train.datasets import absolute_data_yaml
from agrorisk_train.evaluation import evaluate_model

REPO = Path(__file__).resolve().parents[2]
PLANTDOC = REPO.parent / "shared" / "datasets" / "plantdoc-cc-by-4.0"
STARTER = REPO / "models" / "starter" / "best.pt"

pytestmark = [
    pytest.mark.skipif(not PLANTDOC.is_dir(), reason=f"real photos not found at {PLANTDOC}"),
    pytest.mark.skipif(not STARTER.is_file(), reason=f"starter model not found at {STARTER}"),
]


@pytest.fixture(scope="module")
def real_photos(tmp_path_factory, settings) -> Path:
    """60 real PlantDoc photos of the starter model's classes, labels re-indexed onto its classes."""
    offline.ultralytics_settings(settings.project_dir, settings.config_dir)
    from ultralytics import YOLO

    names = YOLO(str(STARTER)).names
    return class_subset(
        PLANTDOC, tmp_path_factory.mktemp("plantdoc"), [names[i] for i in sorted(names)], max_images=60
    )


def test_map_equals_yolo_val_on_real_photos(real_photos, settings, tmp_path):
    from ultralytics import YOLO

    ours = evaluate_model(STARTER, real_photos, settings, split="val", imgsz=320)
    data = absolute_data_yaml(real_photos, tmp_path)
    theirs = YOLO(str(STARTER)).val(
        data=str(data), split="val", imgsz=320, batch=16, device="cpu", plots=False, verbose=False,
        project=str(tmp_path), name="val", exist_ok=True,
    ).box  # fmt: skip
    assert theirs.map50 > 0.1, "the comparison needs a model that finds things"
    assert ours.map50 == pytest.approx(theirs.map50, abs=0.01)
    assert ours.map50_95 == pytest.approx(theirs.map, abs=0.01)
    for index, ap50 in zip(theirs.ap_class_index, theirs.ap50, strict=True):
        assert ours.per_risk[int(index)].ap50 == pytest.approx(float(ap50), abs=0.05)
    assert ours.thresholds.map_conf == 0.001 and ours.thresholds.nms_iou == 0.7
    shutil.rmtree(tmp_path / "val", ignore_errors=True)
