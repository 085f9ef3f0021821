"""Drift without Dagster: no drift on like data; darkened/blurred photos and a shifted class mix drift."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agrorisk_common.prediction_log import LOCAL_SOURCES, append_records, read_records
from agrorisk_pipeline.cli import app
from agrorisk_pipeline.drift import compute_drift, records_frame

runner = CliRunner()


def test_no_drift_on_data_like_the_reference(tmp_path, leaf_records):
    result = compute_drift(
        records_frame(leaf_records(120, seed=1)), records_frame(leaf_records(120, seed=2)), out_dir=tmp_path
    )
    assert result.status == "ok" and not result.dataset_drift
    assert result.drifted_share < 0.3
    assert {c.column for c in result.columns} >= {
        "brightness",
        "sharpness",
        "hue_0",
        "top_risk",
        "max_confidence",
    }
    assert (tmp_path / "drift-report.html").stat().st_size > 10_000


def test_darkened_blurred_photos_and_shifted_class_mix_drift(tmp_path, leaf_records):
    current = leaf_records(120, seed=3, dark=True, class_weights=(0.1, 0.9))
    result = compute_drift(records_frame(leaf_records(120, seed=1)), records_frame(current), out_dir=tmp_path)
    assert result.dataset_drift and result.status == "drift"
    drifted = set(result.drifted_columns)
    assert {"brightness", "sharpness", "top_risk", "max_confidence"} <= drifted
    assert {c.kind for c in result.columns if c.drifted} == {"input", "output"}
    summary = json.loads((tmp_path / "drift-summary.json").read_text())
    assert summary["dataset_drift"] is True and summary["html_path"].endswith("drift-report.html")


def test_too_few_rows_gives_no_verdict(leaf_records):
    result = compute_drift(records_frame(leaf_records(40, seed=1)), records_frame(leaf_records(5, seed=2)))
    assert result.status == "insufficient_data" and not result.dataset_drift and result.columns == []


def test_log_reader_takes_the_newest_records_and_skips_bad_lines(tmp_path, leaf_records):
    append_records(tmp_path / "2026-01-01.jsonl", leaf_records(5, seed=1))
    append_records(tmp_path / "2026-01-02.jsonl", leaf_records(5, seed=2))
    with (tmp_path / "2026-01-02.jsonl").open("a") as f:
        f.write("not json\n" + json.dumps({"features": {"brightness": 1.0}}) + "\n")
    newest = list(read_records(tmp_path, limit=7))
    assert len(newest) == 7  # the 7 newest usable records; the 2 unusable lines are skipped
    assert [r["image_sha256"][:8] for r in newest] == ["00000001"] * 2 + ["00000002"] * 5
    gemini = {**leaf_records(1, seed=6)[0], "source": "gemini"}
    append_records(tmp_path / "2026-01-03.jsonl", [gemini])
    assert next(read_records(tmp_path, limit=1))["source"] == "gemini"
    local = list(read_records(tmp_path, limit=3, sources=LOCAL_SOURCES))
    assert [r["image_sha256"][:8] for r in local] == ["00000002"] * 3  # Gemini's answer is not the model's
    detections_only = leaf_records(1, seed=4)[0]
    outputs = detections_only.pop("outputs")
    (tmp_path / "only.jsonl").write_text(json.dumps(detections_only) + "\n")
    assert next(read_records(tmp_path / "only.jsonl"))["outputs"] == outputs


def test_cli_drift_reports_and_exits_2_on_drift(tmp_path, leaf_records):
    append_records(tmp_path / "ref.jsonl", leaf_records(60, seed=1))
    append_records(
        tmp_path / "log" / "2026-01-01.jsonl", leaf_records(60, seed=5, dark=True, class_weights=(0.1, 0.9))
    )
    out = tmp_path / "report"
    run = runner.invoke(
        app,
        [
            "drift",
            "--reference",
            str(tmp_path / "ref.jsonl"),
            "--current",
            str(tmp_path / "log"),
            "--out",
            str(out),
        ],
    )
    assert run.exit_code == 2, run.output
    assert "brightness" in run.output and (out / "drift-report.html").is_file()


def test_cli_drift_rejects_a_missing_log(tmp_path):
    run = runner.invoke(
        app,
        [
            "drift",
            "--reference",
            str(tmp_path / "nope.jsonl"),
            "--current",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert run.exit_code == 1
    assert "does not exist" in run.output and "Traceback" not in run.output


def test_bench_writes_its_timing(tmp_path):
    out = tmp_path / "bench.json"
    run = runner.invoke(app, ["bench", "--out", str(out), "--rows", "500"])
    assert run.exit_code == 0, run.output
    results = json.loads(out.read_text())
    assert results["rows"] == 500 and results["drift_500_rows_s"] > 0 and results["columns"] >= 20


def test_cli_materialize_rejects_an_unknown_asset(tmp_path, monkeypatch):
    monkeypatch.setenv("AGRORISK_PIPELINE_WORK_DIR", str(tmp_path))
    run = runner.invoke(app, ["materialize", "--select", "no_such_asset"])
    assert run.exit_code == 1
    assert "bad asset selection 'no_such_asset'" in run.output and "Traceback" not in run.output
