"""Public data sets: the registry, `datasets`, and `fetch` of real PlantDoc and rice-pest photos from a local
HTTP server, a local archive or a folder; sha256 checked before the pool is touched; healthy leaves become
negatives; every image keeps its data set and licence into the built dataset's report."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agrorisk_common.catalog import is_healthy_class
from agrorisk_labeling.archives import pack_canonical
from agrorisk_labeling.build import build_dataset, read_extra_classes
from agrorisk_labeling.cli import app
from agrorisk_labeling.labels import LabelStatus, LabelStore
from agrorisk_labeling.manifest import labels_path_of, read_manifest
from agrorisk_labeling.public_datasets import REGISTRY_FILE, PublicDatasets

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
PLANTDOC, RICE = "plantdoc-cc-by-4.0", "rice-pests-cc-by-4.0"
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def shared_set(name: str) -> Path:
    folder = SHARED / name
    if not (folder / "classes.txt").is_file():
        pytest.skip(f"real photos not here: {folder} is absent (../shared beside the repo root holds them)")
    return folder


@dataclass
class Subset:
    folder: Path  # a data set folder in the registered layout (classes.txt, images/, labels/)
    picked: dict[str, str]  # role -> image file name


def copy_subset(source: Path, dest: Path, stems: dict[str, str]) -> Subset:
    (dest / "images").mkdir(parents=True)
    (dest / "labels").mkdir()
    shutil.copyfile(source / "classes.txt", dest / "classes.txt")
    picked = {}
    for role, stem in stems.items():
        image = next((source / "images").glob(f"{stem}.*"))
        shutil.copyfile(image, dest / "images" / image.name)
        shutil.copyfile(source / "labels" / f"{stem}.txt", dest / "labels" / f"{stem}.txt")
        picked[role] = image.name
    return Subset(dest, picked)


@pytest.fixture
def plantdoc(tmp_path) -> Subset:
    """Three real PlantDoc photos: only healthy leaves, a disease next to healthy leaves, a disease."""
    source = shared_set(PLANTDOC)
    names = (source / "classes.txt").read_text().split()
    stems: dict[str, str] = {}
    for label in sorted((source / "labels").glob("*.txt")):
        classes = {names[int(line.split()[0])] for line in label.read_text().splitlines() if line.strip()}
        healthy = {c for c in classes if is_healthy_class(c)}
        role = (
            "negative"
            if classes and classes == healthy
            else "mixed"
            if healthy
            else "disease"
            if classes == {"potato-late-blight"}
            else None
        )
        if role:
            stems.setdefault(role, label.stem)
        if len(stems) == 3:
            break
    return copy_subset(source, tmp_path / "src" / PLANTDOC, stems)


@pytest.fixture
def rice(tmp_path) -> Subset:
    source = shared_set(RICE)
    stems = {f"pest{i}": p.stem for i, p in enumerate(sorted((source / "labels").glob("*.txt"))[:2])}
    return copy_subset(source, tmp_path / "src" / RICE, stems)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_server(tmp_path) -> Iterator[tuple[Path, str]]:
    """A local HTTP server over a folder: (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_registry(tmp_path: Path, changes: dict[str, dict]) -> Path:
    """The package registry with some entries' archive/local changed (mappings stay the package's)."""
    entries = []
    for dataset in PublicDatasets.load():
        entry = dataset.model_dump()
        entry["mapping"] = str(REGISTRY_FILE.parent / dataset.mapping)
        change = dict(changes.get(dataset.name, {}))
        entry["local"] = change.pop("local", "")
        entry["archive"] |= change
        entries.append(entry)
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(entries, sort_keys=False))
    return path


def pool_snapshot(pool_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(pool_dir)): p.read_bytes() for p in pool_dir.rglob("*") if p.is_file()}


def test_fetch_downloads_checks_sha256_and_imports_healthy_leaves_as_negatives(
    plantdoc, http_server, catalog, tmp_path
):
    www, base = http_server
    sha = pack_canonical(plantdoc.folder, PLANTDOC, www / "plantdoc.zip")
    registry = write_registry(tmp_path, {PLANTDOC: {"sha256": sha, "url": f"{base}/plantdoc.zip"}})
    manifest = tmp_path / "pool" / "manifest.csv"

    result = invoke("fetch", PLANTDOC, "-m", manifest, "--registry", registry)

    assert result.exit_code == 0, result.output
    assert f"sha256 {sha} matches the registry" in result.output
    assert "imported 3 image(s)" in result.output and "1 negative(s)" in result.output
    assert "licence CC-BY-4.0: attribute Davinder Singh" in result.output
    frame = read_manifest(manifest)
    assert set(frame["dataset"]) == {PLANTDOC} and set(frame["license"]) == {"CC-BY-4.0"}
    by_file = {
        url.rsplit("/", 1)[1]: sha for url, sha in zip(frame["source_url"], frame["sha256"], strict=True)
    }
    store = LabelStore.load(labels_path_of(manifest))
    negative = store.get(by_file[plantdoc.picked["negative"]])
    assert (negative.status, negative.boxes) == (LabelStatus.NEGATIVE, [])
    mixed = store.get(by_file[plantdoc.picked["mixed"]])
    assert mixed.status == LabelStatus.BOXED and mixed.boxes
    assert not any(is_healthy_class(b.risk_id) for b in mixed.boxes)
    assert {b.risk_id for b in store.get(by_file[plantdoc.picked["disease"]]).boxes} == {"potato-late-blight"}

    report = build_dataset(manifest, tmp_path / "ds", catalog, val_fraction=0, test_fraction=0)
    empty = tmp_path / "ds" / "labels" / "train" / f"{by_file[plantdoc.picked['negative']]}.txt"
    assert empty.read_text() == "" and report.negatives["train"] == 1
    (source,) = report.sources
    assert (source.dataset, source.images, source.license) == (PLANTDOC, 3, "CC-BY-4.0")
    assert "PlantDoc" in source.citation and source.url.startswith("https://github.com/pratikkayal/")
    assert "CC-BY-4.0" in (tmp_path / "ds" / "balance.md").read_text()


def test_a_wrong_sha256_fails_in_one_line_and_leaves_the_pool_unchanged(
    plantdoc, http_server, make_pool, tmp_path
):
    www, base = http_server
    good = pack_canonical(plantdoc.folder, PLANTDOC, tmp_path / "good.zip")
    (plantdoc.folder / "images" / plantdoc.picked["disease"]).unlink()  # someone else's copy lacks one
    pack_canonical(plantdoc.folder, PLANTDOC, www / "tampered.zip")
    registry = write_registry(tmp_path, {PLANTDOC: {"sha256": good, "url": f"{base}/tampered.zip"}})
    pool = make_pool(per_class=2, duplicates=0, labelled=True).manifest
    before = pool_snapshot(pool.parent)

    for extra in ([], ["--src", www / "tampered.zip"], ["--src", plantdoc.folder]):
        result = invoke("fetch", PLANTDOC, "-m", pool, "--registry", registry, *extra)
        assert result.exit_code == 1, (extra, result.output)
        assert "sha256 mismatch" in result.output and f"registered {good}" in result.output, extra
        assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output
    missing = invoke("fetch", PLANTDOC, "-m", pool, "--registry", registry, "--url", f"{base}/nothing.zip")
    assert missing.exit_code == 1 and "HTTP 404" in missing.output
    assert pool_snapshot(pool.parent) == before


def test_offline_fetch_uses_the_local_copy_and_keeps_classes_the_catalog_lacks(rice, tmp_path):
    sha = pack_canonical(rice.folder, RICE, tmp_path / "rice.zip")
    registry = write_registry(tmp_path, {RICE: {"sha256": sha, "url": "", "local": str(rice.folder)}})

    listed = invoke("datasets", "--registry", registry)
    assert listed.exit_code == 0, listed.output
    assert RICE in listed.output and "rice-grasshopper" in listed.output

    manifest = tmp_path / "pool" / "manifest.csv"
    fetched = invoke("fetch", RICE, "-m", manifest, "--registry", registry)
    assert fetched.exit_code == 0, fetched.output
    assert f"{RICE} from {rice.folder}" in fetched.output and "imported 2 image(s)" in fetched.output
    extras = read_extra_classes(manifest)
    assert extras and all(e.startswith("extra-rice-") for e in extras)
    assert set(read_manifest(manifest)["dataset"]) == {RICE}

    again = tmp_path / "again" / "manifest.csv"
    from_zip = invoke("fetch", RICE, "-m", again, "--registry", registry, "--src", tmp_path / "rice.zip")
    assert from_zip.exit_code == 0 and "imported 2 image(s)" in from_zip.output


def test_the_package_registry_matches_the_catalog_and_the_shared_copies(catalog, tmp_path):
    datasets = PublicDatasets.load()
    assert set(datasets.items) == {PLANTDOC, RICE}
    assert all(d.license == "CC-BY-4.0" and d.archive.sha256 and d.citation for d in datasets)
    assert datasets.catalog_gaps(datasets.get(PLANTDOC), catalog) == []
    assert len(datasets.catalog_gaps(datasets.get(RICE), catalog)) == 7  # no rice rows in the catalog

    listed = invoke("datasets")
    assert listed.exit_code == 0, listed.output
    assert PLANTDOC in listed.output and RICE in listed.output and "2318" in listed.output
    if not (SHARED / PLANTDOC).is_dir():
        pytest.skip(f"{SHARED} is absent: the registered sha256 cannot be compared with the shared copies")
    names = (SHARED / PLANTDOC / "classes.txt").read_text().split()
    assert all(n in catalog or is_healthy_class(n) for n in names)
    assert "found" in listed.output
    for name in (RICE, PLANTDOC):  # the registered sha256 is the canonical zip of the shared copy
        packed = pack_canonical(SHARED / name, name, tmp_path / f"{name}.zip")
        assert packed == datasets.get(name).archive.sha256, name
