"""Active learning: disagreements and negative feedback become tasks with both predictions."""

from __future__ import annotations

import json

from PIL import Image

from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_common.features import image_features
from agrorisk_common.prediction_log import log_record
from agrorisk_labeling.manifest import read_manifest
from agrorisk_labeling.settings import Settings as LabelingSettings
from agrorisk_pipeline.active_learning import queue_for_review, read_feedback, select_for_review

RUST, SEPTORIA = "wheat-leaf-rust", "wheat-septoria-leaf-blotch"


def _records(sha: str, image: str, local_risk: str, gemini_risk: str) -> list[dict]:
    features = image_features(Image.new("RGB", (32, 32), "green"))
    box = Box(x1=0.1, y1=0.1, x2=0.5, y2=0.5)
    out = []
    for source, risk in (("yolo", local_risk), ("gemini", gemini_risk)):
        prediction = Prediction(
            source=source,
            detections=[Detection(risk_id=risk, class_index=0, confidence=0.8, box=box)],
            model_version=f"{source}-1",
        )
        out.append(log_record(prediction, features, image_sha256=sha, request_id=sha, image_path=image))
    return out


def test_disagreements_and_wrong_feedback_become_tasks_with_both_predictions(tmp_path):
    log_dir, feedback_dir = tmp_path / "log", tmp_path / "feedback"
    (log_dir / "images").mkdir(parents=True)
    for name, colour in (("a", "red"), ("b", "blue")):
        Image.new("RGB", (40, 40), colour).save(log_dir / "images" / f"{name}.png")
    records = _records("a" * 64, "images/a.png", RUST, SEPTORIA) + _records(
        "b" * 64, "images/b.png", RUST, RUST
    )
    (feedback_dir / "2026-11-01").mkdir(parents=True)
    Image.new("RGB", (40, 40), "yellow").save(feedback_dir / "2026-11-01" / "f1.png")
    (feedback_dir / "2026-11-01" / "f1.json").write_text(json.dumps({
        "verdict": "wrong", "correct_risk_id": SEPTORIA, "image_file": "2026-11-01/f1.png", "image_sha256": "c" * 64,
        "created_at": "2026-11-01T10:00:00+00:00", "source": "local",
    }))  # fmt: skip

    items = select_for_review(records, read_feedback(feedback_dir), log_dir, feedback_dir)
    assert [(i.image_sha256[0], i.reason.split(":")[0]) for i in items] == [
        ("a", "gemini and local model disagree"),
        ("c", "user feedback"),
    ]
    manifest = tmp_path / "pool" / "manifest.csv"
    result = queue_for_review(
        items, manifest, LabelingSettings(manifest=manifest), [RUST, SEPTORIA], tmp_path / "al"
    )
    assert result["new_tasks"] == 2 and "label_studio" not in result
    tasks = json.loads((tmp_path / "al" / result["tasks_file"].rsplit("/", 1)[-1]).read_text())
    first = tasks[0]
    assert {p["model_version"] for p in first["predictions"]} == {"local:yolo-1", "gemini:gemini-1"}
    assert first["predictions"][0]["result"][0]["value"]["rectanglelabels"] in ([RUST], [SEPTORIA])
    pool = read_manifest(manifest)
    assert set(pool["sha256"]) == {t["data"]["sha256"] for t in tasks}
    assert set(pool["risk_id"]) == {
        RUST,
        SEPTORIA,
    }  # weak class: the local model's guess, or the user's answer

    again = queue_for_review(
        items, manifest, LabelingSettings(manifest=manifest), [RUST, SEPTORIA], tmp_path / "al"
    )
    assert again["new_tasks"] == 0 and again["already_queued"] == 2
