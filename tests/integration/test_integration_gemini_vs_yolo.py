"""Gemini and YOLO on the same real labelled photos, in one table: `agrorisk-train evaluate` +
`agrorisk-gemini evaluate` + `agrorisk-gemini compare`, Gemini played by the local REST stand-in
answering in the real response shape (box_2d findings, usage metadata)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agrorisk_common.comparison import ComparisonReport
from agrorisk_common.evaluation import EvaluationReport
from agrorisk_common.yolo_data import class_subset, load_yolo_ground_truth
from agrorisk_devtools.gemini_standin import FakeGeminiServer, finding
from agrorisk_gemini.cli import app as gemini_cli
from agrorisk_train.cli import app as train_cli

REPO = Path(__file__).resolve().parents[2]
PLANTDOC = REPO.parent / "shared" / "datasets" / "plantdoc-cc-by-4.0"
STARTER = REPO / "models" / "starter" / "best.pt"
CLASSES = ["maize-common-rust", "maize-northern-leaf-blight", "potato-late-blight"]
KEY = "test-key-not-secret"

pytestmark = [
    pytest.mark.skipif(not PLANTDOC.is_dir(), reason=f"real photos not found at {PLANTDOC}"),
    pytest.mark.skipif(not STARTER.is_file(), reason=f"starter model not found at {STARTER}"),
]


def script_gemini(server: FakeGeminiServer, data_yaml: Path, split: str = "val") -> tuple[int, int, int]:
    """Gemini answers each photo with its true boxes, slightly off; it misses every 5th photo's
    boxes and names every 4th photo's first box as another risk. Returns (GT, predicted, right)."""
    rng = random.Random(0)
    n_gt = n_pred = n_right = 0
    for k, (image, truth) in enumerate(sorted(load_yolo_ground_truth(data_yaml, split).items())):
        findings = []
        n_gt += len(truth)
        for j, d in enumerate(truth):
            if k % 5 == 4:
                continue
            wrong = k % 4 == 3 and j == 0
            risk = next(c for c in CLASSES if c != d.risk_id) if wrong else d.risk_id
            box = [min(1000, max(0, v + rng.randint(-8, 8))) for v in d.box.to_box_2d()]
            findings.append(finding(risk, box, 0.8))
            n_pred += 1
            n_right += not wrong
        server.set_answer(Path(image).read_bytes(), findings)
    return n_gt, n_pred, n_right


def test_one_table_for_gemini_and_yolo_on_real_photos(tmp_path, monkeypatch):
    data_yaml = class_subset(PLANTDOC, tmp_path / "photos", CLASSES, max_images=24)
    runner = CliRunner()
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setenv("AGRORISK_TRAIN_CONFIG_DIR", str(tmp_path / "ultralytics"))
    monkeypatch.setenv("AGRORISK_TRAIN_DEVICE", "cpu")
    yolo = runner.invoke(
        train_cli,
        ["evaluate", str(STARTER), "--data", str(data_yaml), "--split", "val", "--imgsz", "320",
         "--out", str(tmp_path / "yolo"), "--model-version", "starter"],
    )  # fmt: skip
    assert yolo.exit_code == 0, yolo.output
    with FakeGeminiServer(api_key=KEY) as server:
        n_gt, n_pred, n_right = script_gemini(server, data_yaml)
        env = {"GEMINI_API_KEY": KEY, "AGRORISK_GEMINI_BASE_URL": server.base_url, "COLUMNS": "200"}
        gemini = runner.invoke(
            gemini_cli,
            ["evaluate", str(data_yaml), "--split", "val", "--out", str(tmp_path / "gemini")],
            env=env,
        )
        assert gemini.exit_code == 0, gemini.output
    compared = runner.invoke(
        gemini_cli,
        ["compare", str(tmp_path / "gemini" / "report-gemini.json"), str(tmp_path / "yolo" / "report-yolo.json"),
         "--out", str(tmp_path / "table")],
    )  # fmt: skip
    assert compared.exit_code == 0, compared.output

    g = EvaluationReport.read(tmp_path / "gemini" / "report-gemini.json")
    y = EvaluationReport.read(tmp_path / "yolo" / "report-yolo.json")
    assert g.n_images == y.n_images == 24
    # Gemini's operating point is exactly what it was scripted to say
    assert sum(m.n_ground_truth for m in g.per_risk) == n_gt
    assert (sum(m.n_predicted for m in g.per_risk), sum(m.true_positives for m in g.per_risk)) == (
        n_pred,
        n_right,
    )
    assert g.map50 is None and y.map50 is not None and y.map50_95 is not None
    assert g.cost_per_1000_images_usd > 0 and y.cost_per_1000_images_usd > 0
    assert g.latency_p95_ms is not None and y.latency_p95_ms is not None

    table = (tmp_path / "table" / "comparison.md").read_text()
    ComparisonReport.model_validate_json((tmp_path / "table" / "comparison.json").read_text())
    assert "# gemini vs yolo" in table
    for row in ("| mAP@0.5 (COCO) | n/a |", "| latency p95, ms |", "| cost per 1,000 images, USD |"):
        assert row in table
    for risk in CLASSES:
        assert f"| {risk} |" in table
