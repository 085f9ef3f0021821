"""Shared fixtures: a small risk catalog, photos of every bad kind, and a loopback search site."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from agrorisk_common.catalog import load_catalog
from agrorisk_crawler.queries import build_queries
from agrorisk_crawler.settings import Settings
from agrorisk_devtools.crawl_site import LoopbackSite, synthetic_photo

HEADER = "id,crop,risk_type,name_uk,name_en,latin_name,plant_part,symptoms_uk,queries_uk,queries_en"
ROWS = [
    "wheat-septoria-leaf-blotch,winter_wheat,disease,Септоріоз листя пшениці,Septoria tritici blotch,"
    "Zymoseptoria tritici,листя,Довгасті світло-коричневі плями з пікнідами,септоріоз пшениці,septoria wheat",
    "wheat-leaf-rust,winter_wheat,disease,Бура іржа пшениці,Wheat leaf rust,Puccinia triticina,листя,"
    "Дрібні руді пустули на листку,бура іржа пшениці,wheat leaf rust",
    "barley-net-blotch,barley,disease,Сітчаста плямистість ячменю,Barley net blotch,Pyrenophora teres,листя,"
    "Бурі плями з сітчастим малюнком,сітчаста плямистість ячменю,barley net blotch",
    "maize-corn-borer,maize,pest,Стебловий метелик,European corn borer,Ostrinia nubilalis,стебло,"
    "Ходи гусениць у стеблі та качані,стебловий метелик,corn borer",
]
SEPTORIA, RUST, NET_BLOTCH = "wheat-septoria-leaf-blotch", "wheat-leaf-rust", "barley-net-blotch"
SLOW_S, TIMEOUT_S = 2.0, 0.5


def write_catalog(folder: Path, rows: list[str] = ROWS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "risks.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def near_copy(jpeg: bytes) -> bytes:
    """The same picture, resized by 10 % and re-encoded at a lower quality."""
    image = Image.open(io.BytesIO(jpeg))
    buffer = io.BytesIO()
    image.resize((image.width * 9 // 10, image.height * 9 // 10)).save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


def as_format(jpeg: bytes, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buffer, format=fmt)
    return buffer.getvalue()


@dataclass
class Scenario:
    """What the loopback site serves for the three crawled risks, and what a crawl must keep."""

    site: LoopbackSite
    catalog: Path
    bodies: dict[str, bytes] = field(default_factory=dict)  # name -> bytes served
    urls: dict[str, str] = field(default_factory=dict)
    expected_kept: dict[str, set[str]] = field(default_factory=dict)  # risk id -> names of kept files

    def settings(self, download_dir: Path, **overrides) -> Settings:
        values = dict(
            catalog_dir=self.catalog,
            download_dir=download_dir,
            engines=["bing", "baidu", "google", "flickr"],
            flickr_api_key="test-key",
            threads=4,
            parser_threads=2,
            per_host_rate=500,
            timeout_s=TIMEOUT_S,
            retries=1,
            backoff_s=0.01,
            min_side=100,
            max_queries_per_risk=2,
            max_per_risk=50,
            **self.site.engine_urls(),
        )
        return Settings(**(values | overrides))

    def env(self, download_dir: Path) -> dict[str, str]:
        """The same settings as AGRORISK_CRAWLER_* variables, for the CLI."""
        settings = self.settings(download_dir)
        fields = (
            "catalog_dir",
            "download_dir",
            "threads",
            "per_host_rate",
            "timeout_s",
            "retries",
            "backoff_s",
        )
        fields += (
            "min_side",
            "max_queries_per_risk",
            "bing_url",
            "baidu_url",
            "google_url",
            "flickr_api_url",
        )
        env = {f"AGRORISK_CRAWLER_{f.upper()}": str(getattr(settings, f)) for f in fields}
        return env | {
            "AGRORISK_CRAWLER_ENGINES": "bing,baidu,google,flickr",
            "AGRORISK_CRAWLER_FLICKR_API_KEY": "k",
        }


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory):
    """Three risks' search results on every engine, with every kind of bad link mixed in.

    Septoria (bing, baidu, google, flickr): a1..a7 valid (a5 a PNG, a7 a GIF), plus a 404, a 500,
    HTML served as .jpg, a truncated JPEG, a tiny image, a response slower than the timeout, an
    exact copy of a1 at another URL, a near copy of a2, and a1's URL again from the second query.
    Leaf rust (bing, baidu): b1..b3, b2's URL again from baidu, and a3's bytes at another URL.
    Net blotch (google, flickr): c1, c2, and a near copy of septoria's a4.
    """
    catalog_path = write_catalog(tmp_path_factory.mktemp("catalog"))
    catalog = load_catalog(catalog_path)
    names = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "b1", "b2", "b3", "c1", "c2"]
    bodies = {name: synthetic_photo(seed) for seed, name in enumerate(names)}
    bodies["a5"] = as_format(bodies["a5"], "PNG")
    bodies["a7"] = as_format(bodies["a7"], "GIF")
    bodies |= {
        "missing": b"gone",
        "error": b"oops",
        "html": b"<!DOCTYPE html><html><body>Hotlinking denied</body></html>",
        "truncated": synthetic_photo(100, size=400)[:3000],
        "tiny": synthetic_photo(101, size=48),
        "slow": synthetic_photo(102),
        "a1-copy": bodies["a1"],
        "a2-near": near_copy(bodies["a2"]),
        "a3-mirror": bodies["a3"],
        "a4-near": near_copy(bodies["a4"]),
    }
    with LoopbackSite() as site:
        special = {"missing": {"status": 404}, "error": {"status": 500}, "slow": {"delay_s": SLOW_S}}
        urls = {
            name: site.host(f"{name}.jpg", body, **special.get(name, {})) for name, body in bodies.items()
        }
        q = {r.id: build_queries(r, 2) for r in catalog}
        bad = ["missing", "error", "html", "truncated", "tiny", "slow"]
        results = {
            ("bing", SEPTORIA, 0): ["a1", "a2", "a3", *bad, "a1-copy"],
            ("bing", SEPTORIA, 1): ["a1", "a4"],
            ("baidu", SEPTORIA, 0): ["a5", "a2-near"],  # engines run in turn: a2 is kept first
            ("google", SEPTORIA, 0): ["a6"],
            ("flickr", SEPTORIA, 0): ["a7"],
            ("bing", RUST, 0): ["b1", "b2", "a3-mirror"],
            ("baidu", RUST, 0): ["b3", "b2"],
            ("google", NET_BLOTCH, 0): ["c1", "a4-near"],
            ("flickr", NET_BLOTCH, 1): ["c2"],
        }
        for (engine, risk_id, query_index), served in results.items():
            site.set_results(engine, q[risk_id][query_index], [urls[name] for name in served])
        yield Scenario(
            site,
            catalog_path,
            bodies,
            urls,
            {
                SEPTORIA: {"a1", "a2", "a3", "a4", "a5", "a6", "a7"},
                RUST: {"b1", "b2", "b3", "a3-mirror"},
                NET_BLOTCH: {"c1", "c2", "a4-near"},
            },
        )
