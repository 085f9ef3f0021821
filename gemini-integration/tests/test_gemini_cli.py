"""The `agrorisk-gemini` CLI against the fake Gemini server: predict, evaluate (live and batch), compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agrorisk_common.evaluation import EvaluationReport
from agrorisk_common.yolo_data import load_yolo_ground_truth
from agrorisk_devtools.gemini_standin import finding
from agrorisk_gemini.cli import app

runner = CliRunner()


@pytest.fixture
def env(gemini, settings, catalog_dir, monkeypatch) -> dict[str, str]:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "AGRORISK_GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return {
        "GEMINI_API_KEY": settings.api_key.get_secret_value(),
        "AGRORISK_GEMINI_BASE_URL": gemini.base_url,
        "AGRORISK_GEMINI_BACKOFF_INITIAL_S": "0.01",
        "AGRORISK_CATALOG_DIR": str(catalog_dir),
        "COLUMNS": "200",
    }


def answer_from_labels(gemini, data_yaml: Path, split: str) -> None:
    """Make the fake Gemini answer each photo with its true labels (a perfect recogniser)."""
    for image, detections in load_yolo_ground_truth(data_yaml, split).items():
        gemini.set_answer(
            Path(image).read_bytes(), [finding(d.risk_id, d.box.to_box_2d()) for d in detections]
        )


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("predict", "evaluate", "compare", "estimate"):
        assert command in result.output


def test_predict_prints_detections_and_cost(env, gemini, tmp_path, photo):
    image = tmp_path / "leaf.png"
    image.write_bytes(photo)
    gemini.set_answer(photo, [finding("wheat-powdery-mildew", [100, 100, 600, 700], 0.77)])
    result = runner.invoke(app, ["predict", str(image)], env=env)
    assert result.exit_code == 0, result.output
    assert (
        "wheat-powdery-mildew" in result.output
        and "Powdery mildew" in result.output
        and "0.77" in result.output
    )
    assert "cost $0.000" in result.output and "1 attempt(s)" in result.output


def test_predict_without_a_key_says_so_in_one_line(env, tmp_path, photo):
    image = tmp_path / "leaf.png"
    image.write_bytes(photo)
    result = runner.invoke(app, ["predict", str(image)], env={**env, "GEMINI_API_KEY": ""})
    assert result.exit_code == 1
    assert "Gemini is not configured (set GEMINI_API_KEY)" in result.output
    assert "Traceback" not in result.output


def test_predict_missing_file_is_one_red_line(env):
    result = runner.invoke(app, ["predict", "/nonexistent/leaf.jpg"], env=env)
    assert result.exit_code == 1 and "No such file" in result.output and "Traceback" not in result.output


def test_evaluate_writes_the_shared_report_and_compare_puts_two_side_by_side(
    env, gemini, leaf_dataset, tmp_path
):
    answer_from_labels(gemini, leaf_dataset, "val")
    live = runner.invoke(
        app, ["evaluate", str(leaf_dataset), "--split", "val", "--out", str(tmp_path / "live")], env=env
    )
    assert live.exit_code == 0, live.output
    report = EvaluationReport.read(tmp_path / "live" / "report-gemini.json")
    assert report.source == "gemini" and report.n_images == 3 and report.n_errors == 0
    assert report.map50 is None and report.thresholds.map_conf is None  # no calibrated scores: no mAP
    assert report.f1 == 1.0 and report.image_accuracy == 1.0 and report.cost_per_1000_images_usd > 0
    assert (tmp_path / "live" / "report-gemini.md").read_text().startswith("# Evaluation: gemini")
    summary = json.loads((tmp_path / "live" / "gemini-run.json").read_text())
    assert summary["mode"] == "standard" and summary["errors"] == 0 and summary["attempts"] == 3

    gemini.reset()  # now a recogniser that always names the first risk: worse, and half price in batch mode
    batch_out = tmp_path / "batch"
    batch = runner.invoke(
        app,
        ["evaluate", str(leaf_dataset), "--out", str(batch_out), "--batch"],
        env={**env, "AGRORISK_GEMINI_BATCH_POLL_S": "0.01"},
    )
    assert batch.exit_code == 0, batch.output
    assert len(gemini.calls(":batchGenerateContent")) == 1 and gemini.calls(":generateContent") == []
    batch_summary = json.loads((batch_out / "gemini-run.json").read_text())
    assert batch_summary["mode"] == "batch" and batch_summary["errors"] == 0
    assert EvaluationReport.read(batch_out / "report-gemini.json").f1 < 1.0

    compared = runner.invoke(
        app,
        [
            "compare",
            str(tmp_path / "live" / "report-gemini.json"),
            str(batch_out / "report-gemini.json"),
            "--out",
            str(tmp_path / "cmp"),
        ],
        env=env,
    )
    assert compared.exit_code == 0, compared.output
    assert "| F1 | 1.000 |" in compared.output and "agreement" in compared.output
    assert (tmp_path / "cmp" / "comparison.md").exists()


def test_evaluate_refuses_a_dataset_whose_classes_are_not_in_the_catalog(env, tmp_path):
    data_yaml = tmp_path / "data.yaml"
    data_yaml.write_text("path: .\nval: images/val\nnames:\n  0: maize-imaginary-blight\n")
    result = runner.invoke(app, ["evaluate", str(data_yaml)], env=env)
    assert result.exit_code == 1 and "not in the risk catalog: maize-imaginary-blight" in result.output


def test_estimate_prints_the_cost_of_1000_photos(env):
    result = runner.invoke(app, ["estimate", "--images", "1000", "--few-shot", "3"], env=env)
    assert result.exit_code == 0, result.output
    assert "context cache + batch" in result.output and "ai.google.dev" in result.output


def test_an_unknown_model_is_one_red_line_that_lists_the_known_ones(env):
    result = runner.invoke(app, ["estimate", "--model", "gemini-3-pro-preview"], env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "invalid setting model" in result.output and "gemini-3.1-pro-preview" in result.output
