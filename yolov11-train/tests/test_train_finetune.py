"""Registering a run and fine-tuning the production model, against a real local-folder registry."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agrorisk_common.procedural import generate_leaf_dataset
from agrorisk_storage import ModelRegistry, StorageSettings
from agrorisk_train.cli import app
from agrorisk_train.datasets import dataset_hash
from agrorisk_train.registering import git_commit, register_model

CONTRACT_KEYS = {"metrics", "train_config", "dataset_version", "dataset_hash", "wandb_run", "optuna_study",
                 "optuna_trial", "git_commit", "creator", "dagster_run_id", "class_names", "imgsz", "comparison"}  # fmt: skip


@pytest.fixture(scope="module")
def registry_env(tmp_path_factory, offline_env):
    del offline_env  # requested for its environment only
    root = tmp_path_factory.mktemp("registry")
    env = {"AGRORISK_STORAGE_ENDPOINT": "", "AGRORISK_STORAGE_LOCAL_ROOT": str(root / "store"),
           "AGRORISK_STORAGE_CACHE_DIR": str(root / "cache")}  # fmt: skip
    registry = ModelRegistry.from_settings(
        StorageSettings(endpoint="", local_root=root / "store", cache_dir=root / "cache")
    )
    return env, registry


@pytest.fixture(scope="module")
def registered(trained, registry_env):
    env, registry = registry_env
    result = CliRunner().invoke(app, ["push", str(trained.run_dir), "--dataset-version", "v7"], env=env)
    assert result.exit_code == 0, result.output
    (info,) = registry.list()
    registry.promote(info.version)
    return info


def test_push_stores_the_model_files_and_the_contract_metadata(registered, trained, leaf_data):
    assert set(registered.files) == {"best.pt", "best.onnx", "metrics.json"}
    meta = registered.metadata
    assert meta.keys() >= CONTRACT_KEYS
    assert meta["class_names"] == trained.class_names and meta["imgsz"] == 64
    assert meta["dataset_version"] == "v7" and meta["dataset_hash"] == dataset_hash(leaf_data)
    assert meta["wandb_run"] == trained.wandb_run
    assert meta["metrics"]["map50"] == trained.metrics["map50"]
    assert meta["git_commit"] == git_commit()
    assert meta["comparison"] is None


def test_register_records_the_dataset_registry_hash_when_given(
    registered, registry_env, trained, settings, leaf_data, tmp_path
):
    _, registry = registry_env
    onnx = registry.pull(registered.version) / "best.onnx"  # exported once already: no second export
    other = ModelRegistry.from_settings(
        StorageSettings(endpoint="", local_root=tmp_path / "store", cache_dir=tmp_path / "cache")
    )
    content_hash = "c0ffee" * 10 + "beef"
    info = register_model(
        other, trained, settings, onnx_path=onnx, dataset_version="v3", dataset_hash=content_hash
    )
    assert info.metadata["dataset_hash"] == content_hash != dataset_hash(leaf_data)
    assert info.metadata["dataset_version"] == "v3"


def test_finetune_registers_a_new_version_with_the_old_vs_new_comparison(
    registered, registry_env, leaf_data, train_root
):
    env, registry = registry_env
    new_data = generate_leaf_dataset(
        train_root / "leaves-v2", ["wheat-septoria-leaf-blotch", "wheat-yellow-rust"],
        images_per_class=6, imgsz=96, seed=1, test_fraction=0.34,
    )  # fmt: skip
    result = CliRunner().invoke(
        app,
        ["finetune", "--data", str(new_data), "--base", "production", "--old-data", str(leaf_data),
         "--replay", "0.5", "--freeze", "10", "--epochs", "1", "--imgsz", "64",
         "--project", str(train_root / "runs"), "--dataset-version", "v8"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    old, new = registry.list()
    assert old.version == registered.version and new.number == old.number + 1
    assert registry.aliases() == {"production": old.version}  # registered, never promoted
    comparison = new.metadata["comparison"]
    assert comparison["base_version"] == old.version
    assert comparison["test_split"] == "test" and comparison["n_images"] == 4
    assert comparison["test_set_hash"] == dataset_hash(new_data)
    for side in ("old", "new"):
        assert 0.0 <= comparison[f"{side}_map50"] <= 1.0
    assert comparison["map50_delta"] == pytest.approx(comparison["new_map50"] - comparison["old_map50"])
    assert comparison["freeze"] == 10 and comparison["replay_fraction"] == 0.5
    assert new.metadata["start_weights"]["registry_version"] == old.version
    assert new.metadata["train_config"]["freeze"] == 10
    assert new.metadata["dataset_version"] == "v8"

    run_dir = next((train_root / "runs").glob(f"finetune-{old.version}-*"))
    train_list = next(
        (train_root / "runs" / "datasets").glob(f"finetune-{old.version}-*/train_with_replay.txt")
    )
    listed = train_list.read_text().split()
    new_train = len(list((new_data.parent / "images" / "train").iterdir()))
    old_train = len(list((leaf_data.parent / "images" / "train").iterdir()))
    assert sum("/leaves-v2/" in p for p in listed) == new_train
    assert sum("/leaves/" in p for p in listed) == round(old_train * 0.5)
    reports = {p.name for p in (run_dir / "comparison").iterdir()}
    assert {"report-old.json", "report-new.json"} <= reports
    assert (
        json.loads((run_dir / "comparison" / "report-old.json").read_text())["model_version"] == old.version
    )


@pytest.mark.usefixtures("offline_env")
def test_finetune_without_a_production_model_is_one_readable_error(leaf_data, tmp_path):
    env = {"AGRORISK_STORAGE_ENDPOINT": "", "AGRORISK_STORAGE_LOCAL_ROOT": str(tmp_path / "empty"),
           "AGRORISK_STORAGE_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    result = CliRunner().invoke(app, ["finetune", "--data", str(leaf_data), "--epochs", "1"], env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "production" in result.output
