"""Dataset versions through minio-storage's DatasetRegistry (its local-folder backend)."""

from __future__ import annotations

from typer.testing import CliRunner
from ultralytics.data.utils import check_det_dataset

from agrorisk_labeling.build import build_dataset
from agrorisk_labeling.cli import app
from agrorisk_labeling.registry import push_dataset
from agrorisk_storage import DatasetRegistry, StorageSettings

runner = CliRunner()


def test_push_pull_round_trip_and_same_content_is_one_version(make_pool, catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("AGRORISK_STORAGE_ENDPOINT", "")
    monkeypatch.setenv("AGRORISK_STORAGE_LOCAL_ROOT", str(tmp_path / "registry"))
    monkeypatch.setenv("AGRORISK_STORAGE_CACHE_DIR", str(tmp_path / "cache"))
    manifest = make_pool(per_class=5, labelled=True).manifest
    report = build_dataset(manifest, tmp_path / "ds", catalog)

    pushed = runner.invoke(app, ["registry", "push", str(tmp_path / "ds")])
    assert pushed.exit_code == 0, pushed.output
    assert f"dataset v1 ({report.dataset_hash[:12]})" in pushed.output
    rebuilt = build_dataset(manifest, tmp_path / "again", catalog)
    assert rebuilt.dataset_hash == report.dataset_hash
    assert "dataset v1 " in runner.invoke(app, ["registry", "push", str(tmp_path / "again")]).output

    pulled = runner.invoke(app, ["registry", "pull", "v1", "--dest", str(tmp_path / "pulled")])
    assert pulled.exit_code == 0, pulled.output
    data = check_det_dataset(str(tmp_path / "pulled" / "data.yaml"))
    assert list(data["names"].values()) == report.class_names
    original = sorted(p.read_bytes() for p in (tmp_path / "ds" / "labels").rglob("*.txt"))
    assert sorted(p.read_bytes() for p in (tmp_path / "pulled" / "labels").rglob("*.txt")) == original

    missing = runner.invoke(app, ["registry", "pull", "v9", "--dest", str(tmp_path / "x")])
    assert missing.exit_code == 1 and "cannot pull dataset 'v9'" in missing.output


def test_push_into_a_given_registry_needs_no_environment(make_pool, catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("AGRORISK_STORAGE_LOCAL_ROOT", str(tmp_path / "not-this-one"))
    registry = DatasetRegistry.from_settings(
        StorageSettings(endpoint="", local_root=tmp_path / "given", cache_dir=tmp_path / "cache")
    )
    manifest = make_pool(per_class=5, labelled=True).manifest
    report = build_dataset(manifest, tmp_path / "ds", catalog)

    first = push_dataset(tmp_path / "ds", {"dagster_run_id": "run-1"}, registry=registry)
    again = push_dataset(tmp_path / "ds", {"dagster_run_id": "run-2"}, registry=registry)
    assert first.version == again.version == "v1"
    assert [v.version for v in registry.list()] == ["v1"]
    assert first.metadata["dataset_hash"] == report.dataset_hash
    assert first.metadata["dagster_run_id"] == "run-1"
    assert not (tmp_path / "not-this-one").exists()
