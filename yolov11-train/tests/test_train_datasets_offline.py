"""Dataset helpers (hash, relative paths, replay) and the offline setup Ultralytics needs."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import yaml

from agrorisk_train import offline
from agrorisk_train.datasets import absolute_data_yaml, dataset_hash, replay_mix, split_images
from agrorisk_train.settings import TrainSettings
from agrorisk_train.wandb_logging import wandb_mode


@pytest.fixture
def leaf_copy(leaf_data, tmp_path):
    shutil.copytree(leaf_data.parent, tmp_path / "copy")
    return tmp_path / "copy" / "data.yaml"


def test_dataset_hash_follows_labels_not_locations(leaf_data, leaf_copy):
    assert dataset_hash(leaf_copy) == dataset_hash(leaf_data)  # the copy's yaml still points at the original
    config = yaml.safe_load(leaf_copy.read_text())
    config["path"] = str(leaf_copy.parent)
    leaf_copy.write_text(yaml.safe_dump(config))
    assert dataset_hash(leaf_copy) == dataset_hash(leaf_data)  # same content elsewhere
    label = next((leaf_copy.parent / "labels" / "train").iterdir())
    label.write_text(label.read_text().replace("0.", "0.1", 1))
    assert dataset_hash(leaf_copy) != dataset_hash(leaf_data)


def test_relative_dataset_paths_resolve_against_the_yaml_folder(leaf_copy, tmp_path):
    config = yaml.safe_load(leaf_copy.read_text())
    config["path"] = "."
    leaf_copy.write_text(yaml.safe_dump(config))
    fixed = absolute_data_yaml(leaf_copy, tmp_path / "out")
    assert fixed != leaf_copy and yaml.safe_load(fixed.read_text())["path"] == str(leaf_copy.parent)
    assert len(split_images(fixed, "val")) == 4


def test_replay_refuses_datasets_whose_classes_changed_meaning(leaf_data, leaf_copy, tmp_path):
    config = yaml.safe_load(leaf_copy.read_text())
    config["names"] = {0: "wheat-yellow-rust", 1: "wheat-septoria-leaf-blotch"}
    leaf_copy.write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match="prefix"):
        replay_mix(leaf_data, leaf_copy, 0.5, tmp_path / "mix")


def test_a_broken_data_yaml_is_a_clear_error(tmp_path):
    bad = tmp_path / "data.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        dataset_hash(bad)


def test_offline_setup_places_the_font_and_switches_off_sync_and_builtin_loggers(tmp_path, monkeypatch):
    for key in ("YOLO_OFFLINE", "YOLO_AUTOINSTALL", "YOLO_CONFIG_DIR", "WANDB_SILENT"):
        monkeypatch.setenv(key, "")  # restored after the test
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    offline.ultralytics_settings(tmp_path / "runs", tmp_path / "cfg")
    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "false"
    assert os.environ["WANDB_MODE"] == "offline"
    font = tmp_path / "cfg" / "Ultralytics" / "Arial.ttf"
    assert font.read_bytes()[:4] == b"\x00\x01\x00\x00"  # a TrueType font
    from ultralytics import settings

    saved = json.loads(settings.file.read_text())
    assert saved["sync"] is False and saved["wandb"] is False and saved["mlflow"] is False
    assert saved["runs_dir"] == str((tmp_path / "runs").resolve())


def test_wandb_goes_online_only_with_a_key(monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert wandb_mode(TrainSettings()) == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_mode(TrainSettings()) == "online"
    assert wandb_mode(TrainSettings(wandb_mode="disabled")) == "disabled"


def test_a_split_the_dataset_does_not_have_has_no_images(leaf_data):
    assert split_images(leaf_data, "holdout") == []
    assert len(split_images(leaf_data, "test")) == 2
