"""The crawler's parts on their own: validation, near-duplicate index, politeness, queries, resume, stats."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest
import requests
from PIL import Image

from agrorisk_common.catalog import load_catalog
from agrorisk_crawler.collection import (
    DUPLICATE,
    KEPT,
    KEPT_CROSS_RISK,
    LIMIT_REACHED,
    NEAR_DUPLICATE,
    ImageCollection,
)
from agrorisk_crawler.manifest import COLUMNS, ManifestError, load_manifest, save_manifest
from agrorisk_crawler.phash_index import PhashIndex
from agrorisk_crawler.politeness import HostRateLimiter, PoliteSession
from agrorisk_crawler.queries import build_queries
from agrorisk_crawler.stats import collection_stats
from agrorisk_crawler.validation import Rejected, validate_image
from agrorisk_devtools.crawl_site import LoopbackSite, synthetic_photo

LIMITS = {"min_side": 100, "max_bytes": 1_000_000, "max_pixels": 10_000_000}


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"<html><body>not a photo</body></html>", "not_an_image"),
        (synthetic_photo(1, size=400)[:2000], "corrupt"),
        (synthetic_photo(2, size=60), "too_small"),
        (synthetic_photo(3, size=200) + b"\0" * 1_000_000, "too_large"),
    ],
)
def test_bad_downloads_are_rejected_with_their_reason(data: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        validate_image(data, **LIMITS)
    assert caught.value.reason == reason


def test_jpeg_is_stored_as_is_and_bmp_is_re_encoded_losslessly_as_png() -> None:
    jpeg = synthetic_photo(4, size=150)
    kept = validate_image(jpeg, **LIMITS)
    assert (kept.data, kept.ext, kept.width, kept.height) == (jpeg, "jpg", 150, 150)
    assert kept.sha256 == hashlib.sha256(jpeg).hexdigest()
    picture = Image.open(io.BytesIO(jpeg)).convert("RGB")
    bmp = validate_image(encode(picture, "BMP"), **LIMITS)
    assert bmp.ext == "png" and bmp.data.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(bmp.data)).convert("RGB").tobytes() == picture.tobytes()
    assert bmp.phash == kept.phash


def test_phash_index_finds_exactly_the_hashes_within_the_threshold() -> None:
    rng = random.Random(7)
    stored = [rng.getrandbits(64) for _ in range(3000)]  # more than the initial capacity: the index grows
    index = PhashIndex(capacity=16)
    for key, value in enumerate(stored):
        index.add(value, key)
    for _ in range(50):
        query = rng.choice(stored) ^ sum(1 << rng.randrange(64) for _ in range(rng.randint(0, 8)))
        expected = sorted(
            ((k, (v ^ query).bit_count()) for k, v in enumerate(stored) if (v ^ query).bit_count() <= 6),
            key=lambda kd: kd[1],
        )
        assert index.within(query, 6) == expected
    assert PhashIndex().within(123, 6) == []


def test_rate_limiter_spaces_requests_per_host() -> None:
    slept: list[float] = []
    limiter = HostRateLimiter(rate=2.0, clock=lambda: 100.0, sleep=slept.append)
    waits = [
        limiter.wait("a.example"),
        limiter.wait("a.example"),
        limiter.wait("b.example"),
        limiter.wait("a.example"),
    ]
    assert waits == [0.0, 0.5, 0.0, 1.0] and slept == [0.5, 1.0]
    assert HostRateLimiter(rate=0).wait("a.example") == 0.0


def test_session_retries_5xx_with_exponential_backoff_and_not_4xx() -> None:
    slept: list[float] = []
    session = PoliteSession(
        HostRateLimiter(0), 2.0, retries=3, backoff_s=0.1, user_agent="t", sleep=slept.append
    )
    with LoopbackSite() as site, session:
        busy = site.host("busy.jpg", b"", status=503)
        gone = site.host("gone.jpg", b"", status=404)
        assert session.get(busy).status_code == 503
        assert session.get(gone).status_code == 404
        assert (site.hits["/img/busy.jpg"], site.hits["/img/gone.jpg"]) == (4, 1)
        assert slept == [0.1, 0.2, 0.4]
        with pytest.raises(requests.ConnectionError):
            session.get("http://127.0.0.1:9/img/closed-port.jpg")  # port 9 (discard) is closed here


def test_queries_cover_uk_en_latin_and_symptom_words_without_repeats(scenario) -> None:
    risk = load_catalog(scenario.catalog).get("wheat-leaf-rust")
    queries = build_queries(risk, 20)
    assert queries[:3] == ["бура іржа пшениці", "wheat leaf rust", "Puccinia triticina"]
    assert "Бура іржа пшениці симптоми" in queries and "Бура іржа пшениці листя фото" in queries
    assert len({q.lower() for q in queries}) == len(queries)
    assert build_queries(risk, 2) == queries[:2]


def _collection(root: Path) -> ImageCollection:
    return ImageCollection(root / "images", root / "manifest.csv", phash_threshold=6)


def test_collection_decides_duplicates_limits_and_cross_risk_flags(tmp_path: Path) -> None:
    a, b = validate_image(synthetic_photo(10), **LIMITS), validate_image(synthetic_photo(11), **LIMITS)
    near_a = validate_image(encode(Image.open(io.BytesIO(a.data)).resize((300, 300)), "JPEG"), **LIMITS)
    collection = _collection(tmp_path)
    offer = lambda risk, image, limit=10: collection.offer(  # noqa: E731
        risk, image, query="q", engine="bing", source_url=f"http://x/{image.sha256}", limit=limit
    )
    assert [offer("r1", a), offer("r1", a), offer("r1", near_a), offer("r1", b, limit=1)] == [
        KEPT,
        DUPLICATE,
        NEAR_DUPLICATE,
        LIMIT_REACHED,
    ]
    assert offer("r2", near_a) == KEPT_CROSS_RISK
    rows = {(r["risk_id"], r["sha256"]): r for r in collection.rows}
    assert rows[("r1", a.sha256)]["cross_risk_duplicate_of"] == "r2"
    assert rows[("r2", near_a.sha256)]["near_duplicate_of"] == a.sha256
    assert collection.knows_url("r1", f"http://x/{a.sha256}") and not collection.knows_url(
        "r2", f"http://x/{a.sha256}"
    )


def test_resume_adopts_orphan_files_drops_rows_of_missing_files_and_keeps_synthetic_rows(
    tmp_path: Path,
) -> None:
    collection = _collection(tmp_path)
    for seed in (20, 21):
        image = validate_image(synthetic_photo(seed), **LIMITS)
        collection.offer("r1", image, query="q", engine="bing", source_url=f"http://x/{seed}", limit=10)
    collection.save()
    rows = load_manifest(tmp_path / "manifest.csv")
    synthetic = rows[0] | {"file": "r1/sd-0001.png", "sha256": "f" * 64, "synthetic": True, "engine": ""}
    save_manifest([*rows, synthetic], tmp_path / "manifest.csv")
    (tmp_path / "images" / rows[0]["file"]).unlink()  # lost file: its row must go
    orphan = validate_image(synthetic_photo(22), **LIMITS)  # a file written just before a crash
    (tmp_path / "images" / "r1" / f"{orphan.sha256}.jpg").write_bytes(orphan.data)
    (tmp_path / "images" / "r1" / "notes.txt").write_text("not ours")

    resumed = _collection(tmp_path)
    assert (resumed.dropped_rows, resumed.adopted_files) == (1, 1)
    files = {r["file"] for r in resumed.rows}
    assert files == {rows[1]["file"], "r1/sd-0001.png", f"r1/{orphan.sha256}.jpg"}
    assert resumed.count("r1") == 2  # synthetic images do not count towards the crawl limit
    resumed.save()
    assert len(load_manifest(tmp_path / "manifest.csv")) == 3


def test_manifest_without_contract_columns_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "manifest.csv"
    path.write_text("risk_id,file\nr1,r1/x.jpg\n")
    with pytest.raises(ManifestError, match="lacks column"):
        load_manifest(path)
    save_manifest([], path)
    assert path.read_text().strip() == ",".join(COLUMNS)


def test_stats_count_crawled_synthetic_and_under_target() -> None:
    row = {"cross_risk_duplicate_of": "", "synthetic": False}
    rows = [row | {"risk_id": "r1"}] * 3 + [row | {"risk_id": "r1", "synthetic": True}]
    rows += [row | {"risk_id": "r2", "cross_risk_duplicate_of": "r1"}]
    stats = collection_stats(rows, ["r1", "r2", "r3"], target=4)
    assert [(r.risk_id, r.crawled, r.synthetic, r.total, r.cross_risk_flagged) for r in stats.risks] == [
        ("r1", 3, 1, 4, 0),
        ("r2", 1, 0, 1, 1),
        ("r3", 0, 0, 0, 0),
    ]
    assert stats.under_target == {"r2": 3, "r3": 4}
