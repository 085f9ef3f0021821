"""The registry's behaviour, the same suite on every backend (local folder, moto S3, real MinIO)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from agrorisk_storage import DatasetRegistry, ModelRegistry, RegistryError, StorageSettings
from agrorisk_storage.manifest import file_key, sha256_file


def test_push_promote_rollback_pull(models: ModelRegistry, make_model, tmp_path: Path) -> None:
    sources = {tag: make_model(tag) for tag in ("a", "bb", "ccc")}
    pushed = [models.push(files, {"metrics": {"mAP50": i / 10}}) for i, files in enumerate(sources.values())]

    assert [v.version for v in pushed] == ["v1", "v2", "v3"]
    listed = models.list()
    assert [v.version for v in listed] == ["v1", "v2", "v3"]
    assert listed[1].metadata["metrics"] == {"mAP50": 0.1}
    assert listed[1].files["best.pt"]["sha256"] == sha256_file(sources["bb"]["best.pt"])

    models.promote("v2", "production")
    assert models.show("production").version == "v2"
    models.promote("3", "production")
    assert models.aliases() == {"production": "v3"}
    assert [v.aliases for v in models.list()] == [[], [], ["production"]]

    assert models.rollback("production").version == "v2"
    assert models.alias_history("production") == ["v2"]

    folder = models.pull("production", tmp_path / "out")
    for name, path in sources["bb"].items():
        assert (folder / name).read_bytes() == path.read_bytes()


def test_rollback_follows_alias_history(models: ModelRegistry, make_model) -> None:
    for tag in ("a", "b"):
        models.push(make_model(tag))
    models.promote("v1", "staging")
    models.promote("v2", "staging")
    models.promote("v1", "staging")
    assert models.rollback("staging").version == "v2"
    assert models.rollback("staging").version == "v1"
    with pytest.raises(RegistryError, match="no earlier version"):
        models.rollback("staging")


def test_show_resolves_numbers_latest_and_aliases(models: ModelRegistry, make_model) -> None:
    models.push(make_model("a"), {"creator": "olena"})
    models.push(make_model("b"))
    models.promote("v1", "staging")
    assert models.show("1").version == "v1"
    assert models.show("latest").version == "v2"
    assert models.show("staging").metadata["creator"] == "olena"
    with pytest.raises(RegistryError, match="v9"):
        models.show("v9")
    with pytest.raises(RegistryError, match="nightly"):
        models.show("nightly")


def test_delete_is_guarded_and_numbers_are_never_reused(models: ModelRegistry, make_model) -> None:
    for tag in ("a", "b", "c"):
        models.push(make_model(tag))
    models.promote("v1", "production")
    models.promote("v3", "production")

    with pytest.raises(RegistryError, match="production"):
        models.delete("v3")
    models.delete("v1")
    assert models.alias_history("production") == ["v3"]
    models.delete("v3", force=True)
    assert "production" not in models.aliases()
    assert [v.version for v in models.list()] == ["v2"]

    assert models.push(make_model("d")).version == "v4"


def test_pull_detects_a_corrupted_file_and_names_it(
    models: ModelRegistry, make_model, tmp_path: Path
) -> None:
    info = models.push(make_model("a"))
    models.store.put_bytes(file_key(info.number, "best.onnx"), b"tampered")
    with pytest.raises(RegistryError, match=r"'best\.onnx' of v1 is corrupted"):
        models.pull("v1", tmp_path / "out")


def test_pull_detects_a_missing_file_and_names_it(models: ModelRegistry, make_model, tmp_path: Path) -> None:
    info = models.push(make_model("a"))
    models.store.delete(file_key(info.number, "metrics.json"))
    with pytest.raises(RegistryError, match=r"'metrics\.json' of v1 is missing"):
        models.pull("v1", tmp_path / "out")


def test_read_file_gives_one_checked_file(models: ModelRegistry, make_model) -> None:
    sources = make_model("abc")
    models.push(sources)
    assert models.read_file("v1", "metrics.json") == sources["metrics.json"].read_bytes()
    with pytest.raises(RegistryError, match=r"v1 has no file 'results\.csv'"):
        models.read_file("v1", "results.csv")
    models.store.put_bytes(file_key(1, "metrics.json"), b"tampered")
    shutil.rmtree(models.cache_dir, ignore_errors=True)  # so the file comes from the store again
    with pytest.raises(RegistryError, match=r"'metrics\.json' of v1 is corrupted"):
        models.read_file("v1", "metrics.json")


def test_pull_uses_the_verified_cache(models: ModelRegistry, make_model, tmp_path: Path) -> None:
    files = make_model("a")
    info = models.push(files)
    first = models.pull("v1")
    assert first.is_relative_to(models.cache_dir)

    models.store.delete(file_key(info.number, "best.pt"))  # the cache by sha256 still has it
    assert (models.pull("v1", tmp_path / "again") / "best.pt").read_bytes() == files["best.pt"].read_bytes()

    blob = models.cache_dir / "blobs" / info.files["best.pt"].sha256[:2] / info.files["best.pt"].sha256
    blob.write_bytes(b"rotten cache")  # a damaged cache entry is not trusted
    with pytest.raises(RegistryError, match=r"'best\.pt' of v1 is missing"):
        models.pull("v1", tmp_path / "third")


def test_concurrent_pushes_get_distinct_versions(models: ModelRegistry, make_model) -> None:
    files = make_model("a")
    start = threading.Barrier(3)
    results: list[str] = []
    errors: list[Exception] = []

    def pusher() -> None:
        try:
            start.wait()
            for _ in range(3):
                results.append(models.push(files).version)
        except Exception as exc:  # collected so the assert below shows it
            errors.append(exc)

    threads = [threading.Thread(target=pusher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results, key=lambda v: int(v[1:])) == [f"v{n}" for n in range(1, 10)]
    assert [v.version for v in models.list()] == [f"v{n}" for n in range(1, 10)]


def test_concurrent_promotes_keep_every_alias_state(models: ModelRegistry, make_model) -> None:
    for tag in ("a", "b", "c", "d"):
        models.push(make_model(tag))
    start = threading.Barrier(4)

    def promote(ref: str) -> None:
        start.wait()
        models.promote(ref, "production")

    threads = [threading.Thread(target=promote, args=(f"v{n}",)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(models.alias_history("production")) == ["v1", "v2", "v3", "v4"]


def test_datasets_push_a_folder_into_their_own_bucket(settings: StorageSettings, tmp_path: Path) -> None:
    source = tmp_path / "dataset"
    for rel in ("data.yaml", "images/train/a.jpg", "images/val/b.jpg", "labels/train/a.txt"):
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text(f"content of {rel}")
    datasets = DatasetRegistry.from_settings(settings)

    info = datasets.push_dir(source, {"n_images": 2})
    assert sorted(info.files) == ["data.yaml", "images/train/a.jpg", "images/val/b.jpg", "labels/train/a.txt"]
    assert ModelRegistry.from_settings(settings).list() == []

    pulled = datasets.pull(info.version, tmp_path / "pulled")
    assert (pulled / "images/val/b.jpg").read_text() == "content of images/val/b.jpg"


@pytest.mark.parametrize(
    ("files", "metadata", "message"),
    [
        ({}, None, "nothing to push"),
        ({"../escape.pt": "best.pt"}, None, "invalid file name"),
        ({"best.pt": "does-not-exist.pt"}, None, "not a readable file"),
        ({"best.pt": "best.pt"}, {"when": object()}, "JSON-serialisable"),
    ],
)
def test_push_rejects_bad_input(models: ModelRegistry, tmp_path: Path, files, metadata, message) -> None:
    (tmp_path / "best.pt").write_bytes(b"w")
    resolved = {name: tmp_path / path for name, path in files.items()}
    with pytest.raises(RegistryError, match=message):
        models.push(resolved, metadata)
    assert models.list() == []


def test_alias_names_are_validated(models: ModelRegistry, make_model) -> None:
    models.push(make_model("a"))
    for bad in ("v2", "latest", "Prod", "../x", ""):
        with pytest.raises(RegistryError, match="invalid alias"):
            models.promote("v1", bad)
