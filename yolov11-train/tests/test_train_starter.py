"""`agrorisk-train starter`: the committed starter model becomes production of an empty registry, once."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agrorisk_storage import ModelRegistry, StorageSettings
from agrorisk_train.cli import app

STARTER = Path(__file__).resolve().parents[2] / "models" / "starter" / "best.pt"

pytestmark = pytest.mark.skipif(not STARTER.is_file(), reason=f"starter model not found at {STARTER}")


@pytest.mark.usefixtures("offline_env")
def test_starter_registers_once_with_its_lineage(tmp_path, monkeypatch):
    storage = StorageSettings(local_root=tmp_path / "registry", cache_dir=tmp_path / "cache")
    monkeypatch.setenv("AGRORISK_STORAGE_LOCAL_ROOT", str(storage.local_root))
    monkeypatch.setenv("AGRORISK_STORAGE_CACHE_DIR", str(storage.cache_dir))
    monkeypatch.setenv("AGRORISK_TRAIN_STARTER_MODEL", str(STARTER))
    work = ["--work", str(tmp_path / "work")]

    first = CliRunner().invoke(app, ["starter", *work])
    assert first.exit_code == 0, first.output
    assert "as v1 = production (starter v2)" in first.output
    registry = ModelRegistry.from_settings(storage)
    info = registry.show("production")
    assert (
        info.metadata["lineage"]["start"] == "starter v2"
        and info.metadata["lineage"]["parent_version"] is None
    )
    assert {"best.pt", "best.onnx", "metrics.json"} <= set(info.files)
    assert info.metadata["class_names"][0] == "maize-common-rust"

    again = CliRunner().invoke(app, ["starter", *work])
    assert again.exit_code == 0 and "production is v1: nothing to register" in again.output
    assert [v.version for v in registry.list()] == ["v1"]

    monkeypatch.setenv("AGRORISK_TRAIN_STARTER_MODEL", str(tmp_path / "missing.pt"))
    monkeypatch.setenv("AGRORISK_STORAGE_LOCAL_ROOT", str(tmp_path / "empty"))
    missing = CliRunner().invoke(app, ["starter", *work])
    assert missing.exit_code == 1 and "no starter model at" in missing.output
