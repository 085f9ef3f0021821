"""Shared fixtures: a generated leaf dataset, offline settings, and ONE tiny trained model per session
(trained through the real `agrorisk-train fit` command) that the other tests reuse."""

from __future__ import annotations

import glob
import json
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agrorisk_common.procedural import generate_leaf_dataset
from agrorisk_train.cli import app
from agrorisk_train.settings import TrainSettings
from agrorisk_train.training import TrainResult

RISKS = ["wheat-septoria-leaf-blotch", "wheat-yellow-rust"]


@pytest.fixture(scope="session")
def train_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("yolo-train")


@pytest.fixture(scope="session")
def offline_env(train_root):
    """Environment every test runs under: W&B offline, Ultralytics config in a temp dir, CPU."""
    env = {
        "WANDB_MODE": "offline",
        "WANDB_API_KEY": "",
        "AGRORISK_TRAIN_CONFIG_DIR": str(train_root / "ultralytics"),
        "AGRORISK_TRAIN_DEVICE": "cpu",
        "AGRORISK_TRAIN_WORKERS": "0",
        "AGRORISK_TRAIN_WANDB_SAMPLE_IMAGES": "2",
        "AGRORISK_TRAIN_BATCH": "4",
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("WANDB_API_KEY")
        yield env


@pytest.fixture(scope="session")
def leaf_data(train_root) -> Path:
    """2 risks × 8 drawn leaves at 96 px: 10 train, 4 val, 2 test images."""
    return generate_leaf_dataset(
        train_root / "leaves", RISKS, images_per_class=8, imgsz=96, seed=0, test_fraction=0.125
    )


@pytest.fixture(scope="session")
def settings(offline_env, train_root) -> TrainSettings:
    del offline_env  # requested for its environment only
    return TrainSettings(
        project_dir=train_root / "runs",
        model="yolo11n.yaml",
        epochs=2,
        imgsz=64,
        tune_epochs=2,
        tune_imgsz_choices=[64],
        tune_batch_choices=[4, 8],
    )


@pytest.fixture(scope="session")
def trained(offline_env, leaf_data, train_root) -> TrainResult:
    """`agrorisk-train fit --data … --model yolo11n.yaml --epochs 2 --imgsz 64` as a user runs it."""
    del offline_env  # requested for its environment only
    runs = train_root / "runs"
    result = CliRunner().invoke(
        app,
        ["fit", "--data", str(leaf_data), "--model", "yolo11n.yaml", "--epochs", "2", "--imgsz", "64",
         "--project", str(runs), "--name", "shared"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return TrainResult.load(runs / "shared")


@pytest.fixture(scope="session")
def wandb_history():
    return read_wandb_history


def read_wandb_history(run_dir: Path) -> tuple[list[dict], list[str]]:
    """History rows and record kinds of the offline W&B run under `run_dir` (wandb has no public
    reader for .wandb files: they are LevelDB-style logs of protobuf records)."""
    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb"))
    data, pos, block = Path(path).read_bytes(), 7, 32768
    payloads, pending = [], b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 0 and length == 0:
            break
        if kind in (1, 4):
            payloads.append(pending + chunk)
            pending = b""
        else:
            pending = (pending if kind == 3 else b"") + chunk
    rows, kinds = [], []
    for payload in payloads:
        record = pb.Record()
        record.ParseFromString(payload)
        kinds.append(record.WhichOneof("record_type"))
        if kinds[-1] == "history":
            rows.append(
                {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
            )
    return rows, kinds
