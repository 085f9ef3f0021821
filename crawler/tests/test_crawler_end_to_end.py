"""A real crawl through icrawler's feeder/parser/downloader threads against the loopback site."""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from agrorisk_common.catalog import load_catalog
from agrorisk_crawler.collection import ImageCollection
from agrorisk_crawler.crawl import crawl_risks
from agrorisk_crawler.manifest import COLUMNS

pytestmark = pytest.mark.slow
SEPTORIA, RUST, NET_BLOTCH = "wheat-septoria-leaf-blotch", "wheat-leaf-rust", "barley-net-blotch"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def crawled(scenario, tmp_path_factory: pytest.TempPathFactory):
    """Crawl the three risks once, then again with the same settings."""
    settings = scenario.settings(tmp_path_factory.mktemp("download"))
    risks = load_catalog(scenario.catalog).select(ids=[SEPTORIA, RUST, NET_BLOTCH])
    hits_before = Counter(scenario.site.hits)
    first = crawl_risks(risks, settings, ImageCollection(settings.images_dir, settings.manifest_path, 6))
    hits_first = Counter(scenario.site.hits) - hits_before
    manifest_first = pd.read_csv(settings.manifest_path, dtype=str, keep_default_na=False)
    files_first = {p: p.read_bytes() for p in settings.images_dir.rglob("*") if p.is_file()}
    second = crawl_risks(risks, settings, ImageCollection(settings.images_dir, settings.manifest_path, 6))
    return settings, first, hits_first, manifest_first, files_first, second


def test_keeps_exactly_the_valid_unique_images(scenario, crawled) -> None:
    settings, report, _, manifest, files, _ = crawled
    for risk_id, names in scenario.expected_kept.items():
        rows = manifest[manifest.risk_id == risk_id]
        expected = {sha(scenario.bodies[n]) for n in names if n != "a7"}
        assert expected <= set(rows.sha256), risk_id
        assert len(rows) == len(names) == report.kept(risk_id), risk_id
    assert len(files) == len(manifest) == 14


def test_every_bad_kind_is_rejected_with_its_reason(crawled) -> None:
    _, report, hits, _, _, _ = crawled
    assert report.rejected(SEPTORIA) == Counter(
        {"http_404": 1, "http_500": 1, "not_an_image": 1, "corrupt": 1, "too_small": 1, "timeout": 1}
    )
    counts = report.counts(SEPTORIA)
    assert (counts["duplicate"], counts["near_duplicate"]) == (1, 1)  # a1's copy, a2's near copy
    assert counts["seen_url"] + counts["already_have"] == 1  # a1's URL from the second query
    assert report.rejected(RUST) == report.rejected(NET_BLOTCH) == Counter()
    assert report.counts(RUST)["already_have"] == 1  # b2 again from baidu: not downloaded twice
    assert hits["/img/error.jpg"] == 2  # one retry after the 500, then given up
    assert hits["/img/missing.jpg"] == 1  # a 404 is not retried
    assert hits["/img/b2.jpg"] == 1


def test_files_are_named_by_content_hash_and_typed_by_magic_bytes(scenario, crawled) -> None:
    settings, _, _, manifest, files, _ = crawled
    for row in manifest.itertuples():
        path = settings.images_dir / row.file
        data = files[path]
        assert row.file == f"{row.risk_id}/{row.sha256}.{path.suffix[1:]}"
        assert sha(data) == row.sha256 and int(row.bytes) == len(data)
        with Image.open(io.BytesIO(data)) as image:
            assert (image.width, image.height) == (int(row.width), int(row.height))
            assert {"jpg": "JPEG", "png": "PNG"}[path.suffix[1:]] == image.format
    by_sha = manifest.set_index("sha256")
    assert by_sha.loc[sha(scenario.bodies["a5"]), "file"].endswith(".png")  # PNG behind a .jpg link, as-is
    gif_row = manifest[(manifest.engine == "flickr") & (manifest.risk_id == SEPTORIA)].iloc[0]
    stored = Image.open(io.BytesIO(files[settings.images_dir / gif_row.file])).convert("RGB")
    assert gif_row.file.endswith(".png")
    assert stored.tobytes() == Image.open(io.BytesIO(scenario.bodies["a7"])).convert("RGB").tobytes()


def test_manifest_traces_each_image_and_flags_cross_risk_duplicates(scenario, crawled) -> None:
    _, report, _, manifest, _, _ = crawled
    assert tuple(manifest.columns) == COLUMNS
    by_sha = manifest.set_index(["risk_id", "sha256"])
    a5 = by_sha.loc[(SEPTORIA, sha(scenario.bodies["a5"]))]
    assert (a5.engine, a5.source_url, a5.synthetic) == ("baidu", scenario.urls["a5"], "False")
    assert a5.query == "септоріоз пшениці" and len(a5.phash) == 16
    a3, a3_in_rust = (
        by_sha.loc[(SEPTORIA, sha(scenario.bodies["a3"]))],
        by_sha.loc[(RUST, sha(scenario.bodies["a3"]))],
    )
    assert a3.cross_risk_duplicate_of == RUST and a3_in_rust.cross_risk_duplicate_of == SEPTORIA
    assert a3_in_rust.near_duplicate_of == sha(scenario.bodies["a3"])
    a4, a4_near = (
        by_sha.loc[(SEPTORIA, sha(scenario.bodies["a4"]))],
        by_sha.loc[(NET_BLOTCH, sha(scenario.bodies["a4-near"]))],
    )
    assert a4.cross_risk_duplicate_of == NET_BLOTCH
    assert (a4_near.cross_risk_duplicate_of, a4_near.near_duplicate_of) == (
        SEPTORIA,
        sha(scenario.bodies["a4"]),
    )
    assert (manifest.cross_risk_duplicate_of != "").sum() == 4
    assert report.counts(RUST)["kept_cross_risk"] == report.counts(NET_BLOTCH)["kept_cross_risk"] == 1


def test_a_rerun_adds_nothing_and_loses_nothing(crawled) -> None:
    settings, _, _, manifest, files, second = crawled
    assert second.kept() == 0
    after = pd.read_csv(settings.manifest_path, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(after, manifest)
    assert {p: p.read_bytes() for p in settings.images_dir.rglob("*") if p.is_file()} == files
    assert second.counts(SEPTORIA)["already_have"] >= 7


def test_max_per_risk_is_honoured_and_a_later_run_tops_up(scenario, tmp_path: Path) -> None:
    risks = load_catalog(scenario.catalog).select(ids=[SEPTORIA])
    for limit in (2, 5):
        settings = scenario.settings(tmp_path, max_per_risk=limit)
        collection = ImageCollection(settings.images_dir, settings.manifest_path, 6)
        crawl_risks(risks, settings, collection)
        manifest = pd.read_csv(settings.manifest_path, dtype=str, keep_default_na=False)
        assert len(manifest) == limit == len(list((settings.images_dir / SEPTORIA).iterdir()))
