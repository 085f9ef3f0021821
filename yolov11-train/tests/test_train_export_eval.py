"""Export to ONNX/TorchScript with the ONNX-vs-PyTorch check, and evaluation in the shared format."""

from __future__ import annotations

import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from agrorisk_common.evaluation import EvaluationReport
from agrorisk_common.yolo_data import load_yolo_ground_truth
from agrorisk_train.cli import app
from agrorisk_train.export import ExportMismatch, export_onnx, letterboxed_batch, max_abs_difference


@pytest.fixture(scope="session")
def exported(trained, settings, leaf_data):
    image = next(iter(load_yolo_ground_truth(leaf_data, "val")))
    return export_onnx(trained.best_pt, settings, torchscript=True, image=image), image


def test_onnx_export_matches_pytorch_on_the_same_image(exported, trained):
    result, _ = exported
    assert result.onnx_path == trained.best_pt.with_suffix(".onnx") and result.onnx_path.is_file()
    assert result.torchscript_path is not None and result.torchscript_path.is_file()
    assert result.imgsz == 64
    assert 0 <= result.max_abs_diff <= result.tolerance
    session = ort.InferenceSession(str(result.onnx_path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    assert inp.name == "images" and inp.shape[1:] == [3, "height", "width"]
    (raw,) = session.run(None, {"images": letterboxed_batch(_sample(exported), 64).repeat(2, axis=0)})
    assert raw.shape[:2] == (2, 4 + len(trained.class_names))  # [N, 4+nc, anchors], no NMS


def test_a_mismatch_beyond_the_tolerance_is_refused(exported, trained, settings):
    result, image = exported
    diff = max_abs_difference(trained.best_pt, result.onnx_path, letterboxed_batch(image, 64))
    assert diff == pytest.approx(result.max_abs_diff)
    assert diff > 1e-9  # a fused float32 graph is never bit-identical to the unfused model
    strict = settings.model_copy(update={"export_atol": 1e-9})
    with pytest.raises(ExportMismatch, match="differs from PyTorch"):
        export_onnx(trained.best_pt, strict, image=image)


@pytest.mark.usefixtures("offline_env")
def test_export_cli_reports_the_difference(trained):
    result = CliRunner().invoke(app, ["export", str(trained.best_pt), "--no-torchscript"])
    assert result.exit_code == 0, result.output
    assert "max |ONNX - PyTorch|" in result.output


@pytest.mark.usefixtures("offline_env")
def test_evaluate_cli_writes_the_shared_report_format(trained, leaf_data, tmp_path):
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        ["evaluate", str(trained.best_pt), "--data", str(leaf_data), "--split", "val", "--imgsz", "64",
         "--conf", "0.001", "--out", str(out), "--model-version", "run-shared"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = EvaluationReport.read(out / "report-yolo.json")
    truth = load_yolo_ground_truth(leaf_data, "val")
    assert report.source == "yolo" and report.model_version == "run-shared"
    assert report.n_images == len(truth) == 4 and report.n_errors == 0
    assert [m.risk_id for m in report.per_risk][:2] == trained.class_names
    assert sum(m.n_ground_truth for m in report.per_risk) == sum(len(v) for v in truth.values())
    assert all(r.latency_ms and r.latency_ms > 0 for r in report.per_image)
    assert (out / "report-yolo.md").read_text().startswith("# Evaluation: yolo")


def test_evaluate_an_onnx_model(exported, leaf_data, settings):
    from agrorisk_train.evaluation import evaluate_model

    result, _ = exported
    report = evaluate_model(
        result.onnx_path, leaf_data, settings, split="test", imgsz=64, operating_conf=0.001
    )
    assert report.n_images == 2 and report.n_errors == 0


@pytest.mark.usefixtures("offline_env")
def test_evaluate_a_missing_split_is_one_readable_error(trained, leaf_data, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(trained.best_pt),
            "--data",
            str(leaf_data),
            "--split",
            "holdout",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1 and "no 'holdout' split" in result.output


def _sample(exported) -> str:
    return str(exported[1])
