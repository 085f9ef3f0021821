"""`agrorisk-serving bench` times every stage and the whole pipeline against the raw ONNX Runtime run."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agrorisk_devtools.backend_stack import storage_env
from agrorisk_serving.cli import app

STAGES = ("decode", "letterbox", "onnxruntime", "decode_nms", "pipeline")


def test_bench_reports_each_stage_and_the_pipeline_over_the_raw_run(model_registry, tmp_path):
    out = tmp_path / "bench.json"
    args = ["bench", "--imgsz", "64", "--repeats", "3", "--out", str(out)]
    result = CliRunner().invoke(app, args, env=storage_env(model_registry))
    assert result.exit_code == 0, result.output
    results = json.loads(out.read_text())
    assert results["model_version"] == "v1" and results["photo_size"] == "640x640"
    for stage in STAGES:
        assert 0 < results[stage]["median_ms"] <= results[stage]["p95_ms"], stage
    ratio = results["pipeline"]["median_ms"] / results["onnxruntime"]["median_ms"]
    assert results["pipeline_over_onnxruntime"] == ratio
    assert "whole pipeline / raw ONNX Runtime run" in result.output
