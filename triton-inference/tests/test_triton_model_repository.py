"""`agrorisk-triton repo` writes a Triton model repository whose configs Triton's own protobuf accepts."""

from __future__ import annotations

import py_compile

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as pb
from typer.testing import CliRunner

from agrorisk_devtools.backend_stack import storage_env
from agrorisk_triton.cli import app


def parse(path) -> pb.ModelConfig:
    return text_format.Parse(path.read_text(), pb.ModelConfig())


def test_repo_command_writes_onnx_and_python_backend_models(triton_model_registry, tmp_path):
    storage, files, class_names = triton_model_registry
    env = {
        **storage_env(storage),
        "AGRORISK_TRITON_INSTANCES": "3",
        "AGRORISK_TRITON_MAX_BATCH_SIZE": "16",
        "AGRORISK_TRITON_MAX_QUEUE_DELAY_US": "1500",
    }
    result = CliRunner().invoke(app, ["repo", "--version", "production", "--out", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    assert "v1" in result.output

    onnx = parse(tmp_path / "agrorisk_onnx" / "config.pbtxt")
    assert onnx.platform == "onnxruntime_onnx" and onnx.max_batch_size == 16
    assert list(onnx.input[0].dims) == [3, 64, 64]
    assert list(onnx.output[0].dims) == [4 + len(class_names), -1]
    assert onnx.version_policy.latest.num_versions == 1
    assert onnx.instance_group[0].count == 3 and onnx.instance_group[0].kind == pb.ModelInstanceGroup.KIND_CPU
    assert onnx.dynamic_batching.max_queue_delay_microseconds == 1500
    assert (tmp_path / "agrorisk_onnx" / "1" / "model.onnx").read_bytes() == files["best.onnx"].read_bytes()

    detector = parse(tmp_path / "agrorisk_detector" / "config.pbtxt")
    assert detector.backend == "python" and detector.input[0].data_type == pb.TYPE_STRING
    assert {o.name for o in detector.output} >= {"DETECTIONS", "NUM_DETECTIONS", "MODEL_VERSION", "ERROR"}
    assert detector.parameters["model_version"].string_value == "v1"
    assert detector.parameters["onnx_model"].string_value == "agrorisk_onnx"
    for name in ("model.py", "yolo_processing.py"):
        py_compile.compile(str(tmp_path / "agrorisk_detector" / "1" / name), doraise=True)


def test_repo_command_rejects_an_unknown_version_in_one_line(triton_model_registry, tmp_path):
    storage, _, _ = triton_model_registry
    result = CliRunner().invoke(
        app, ["repo", "--version", "v99", "--out", str(tmp_path)], env=storage_env(storage)
    )
    assert result.exit_code == 1
    assert "v99" in result.output and "Traceback" not in result.output
