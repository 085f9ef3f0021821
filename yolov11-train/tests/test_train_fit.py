"""`agrorisk-train fit`: a real (tiny) training run with W&B offline, and its failures."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from typer.testing import CliRunner

from agrorisk_train.cli import app
from agrorisk_train.training import train
from agrorisk_train.weights import resolve_start_weights


def test_fit_writes_best_model_metrics_and_offline_wandb_run(trained, wandb_history):
    assert trained.best_pt.is_file() and trained.best_pt.stat().st_size > 1_000_000
    metrics = json.loads(trained.metrics_json.read_text())
    assert {"precision", "recall", "map50", "map50_95", "fitness"} <= metrics.keys()
    assert [row["epoch"] for row in metrics["per_epoch"]] == [1, 2]
    assert trained.class_names == ["wheat-septoria-leaf-blotch", "wheat-yellow-rust"]
    assert trained.start["note"].startswith("architecture yolo11n.yaml")
    assert "offline-run-" in trained.wandb_run

    rows, kinds = wandb_history(trained.run_dir)
    epochs = [r for r in rows if "metrics/mAP50(B)" in r]
    assert [r["epoch"] for r in epochs] == [1, 2]
    for row in epochs:
        assert {"train/box_loss", "val/cls_loss", "metrics/precision(B)", "metrics/mAP50-95(B)"} <= row.keys()
    logged = set().union(*rows)
    assert any(k.startswith("plots/BoxPR_curve") for k in logged)
    assert any(k.startswith("plots/confusion_matrix") for k in logged)
    assert any(k.startswith("samples/predictions") for k in logged)
    assert "artifact" in kinds  # the best model


@pytest.mark.usefixtures("offline_env")
def test_fit_with_missing_data_yaml_is_one_readable_error(tmp_path):
    result = CliRunner().invoke(app, ["fit", "--data", str(tmp_path / "nope.yaml"), "--epochs", "1"])
    assert result.exit_code == 1
    assert "data.yaml not found" in result.output
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("offline_env")
def test_fit_with_unknown_model_name_is_one_readable_error(leaf_data, tmp_path):
    result = CliRunner().invoke(
        app, ["fit", "--data", str(leaf_data), "--model", "yolo99z.pt", "--project", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "yolo99z.pt" in result.output and "Traceback" not in result.output


def test_unreachable_coco_weights_fall_back_to_the_starter_or_the_yaml_and_say_so(
    settings, trained, monkeypatch, caplog
):
    """With GitHub unreachable (a proxy that refuses on loopback) the starter model is used, else the
    yaml (random init) — loudly, and the kind is recorded."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, closed)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    local = settings.model_copy(
        update={"model": None, "weights_dir": settings.config_dir / "empty", "starter_model": None}
    )
    with caplog.at_level(logging.WARNING, logger="agrorisk_train.weights"):
        start = resolve_start_weights(local)
    assert (start.path, start.pretrained, start.kind) == ("yolo11n.yaml", False, "random")
    assert "RANDOM initial weights" in caplog.text and "yolo11n.pt" in caplog.text

    caplog.clear()
    with_starter = local.model_copy(update={"starter_model": trained.best_pt})
    with caplog.at_level(logging.WARNING, logger="agrorisk_train.weights"):
        start = resolve_start_weights(with_starter)
    assert (start.path, start.pretrained, start.kind) == (str(trained.best_pt.resolve()), True, "starter")
    assert "starter model" in caplog.text and "cannot be downloaded" in caplog.text


def test_a_local_checkpoint_is_used_as_pretrained(settings, trained):
    start = resolve_start_weights(settings, str(trained.best_pt))
    assert start.pretrained and start.path == str(trained.best_pt.resolve())


def test_registry_start_without_a_registry_is_refused(settings):
    with pytest.raises(ValueError, match="no model registry"):
        resolve_start_weights(settings, "registry:production")


@pytest.mark.usefixtures("offline_env")
def test_bench_writes_seconds_per_epoch_per_100_images(tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--out", str(out), "--epochs", "1", "--images-per-class", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["train_s_per_epoch_per_100_images_320px"] > 0
    assert report["train_images"] == 4 and report["device"] == "cpu"
    assert report["train_s_per_epoch_per_100_images_320px"] == pytest.approx(
        report["train_s_per_epoch"] / report["train_images"] * 100, rel=0.01
    )


@pytest.mark.slow
def test_a_down_wandb_server_does_not_stop_training(settings, leaf_data, monkeypatch, caplog, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", closed)
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "5")
    monkeypatch.delenv("WANDB_MODE")
    online = settings.model_copy(update={"epochs": 1, "plots": False, "project_dir": tmp_path})
    with caplog.at_level(logging.WARNING, logger="agrorisk_train.wandb_logging"):
        result = train(online, leaf_data, run_name="no-wandb")
    assert result.best_pt.is_file() and result.wandb_run is None
    assert "W&B is unavailable" in caplog.text and "k" * 40 not in caplog.text
