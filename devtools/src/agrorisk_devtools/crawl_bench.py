"""The crawler's throughput on the loopback site: images kept per second, the site in its own process."""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from agrorisk_common.catalog import Risk, RiskType
from agrorisk_crawler.collection import ImageCollection
from agrorisk_crawler.crawl import crawl_risks
from agrorisk_crawler.queries import build_queries
from agrorisk_crawler.settings import Settings
from agrorisk_devtools.crawl_site import LoopbackSite, synthetic_photo

BENCH_RISK = Risk(
    id="bench-leaf-spot",
    crop="winter_wheat",
    risk_type=RiskType.DISEASE,
    name_uk="Плямистість листя",
    name_en="Leaf spot",
    plant_part="листя",
    symptoms_uk="Бурі плями на листі, що зливаються.",
    queries_en=("leaf spot wheat",),
)


def _serve_site(n_images: int, query: str, conn: Connection) -> None:
    """Child process: host `n_images` photos behind Bing-shaped pages until told to stop."""
    with LoopbackSite() as site:
        urls = [site.host(f"p{i}.jpg", synthetic_photo(i, size=256)) for i in range(n_images)]
        site.set_results("bing", query, urls)
        conn.send(site.engine_urls())
        conn.recv()


def bench_crawl(n_images: int, threads: int) -> dict:
    """Crawl `n_images` distinct photos from a loopback site in its own process; kept images per second."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(
        target=_serve_site, args=(n_images, build_queries(BENCH_RISK, 1)[0], theirs), daemon=True
    )
    server.start()
    try:
        if not ours.poll(60):
            raise RuntimeError("the loopback site did not start within 60 s")
        engine_urls = ours.recv()
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                download_dir=Path(tmp),
                engines=["bing"],
                threads=threads,
                per_host_rate=0,
                max_per_risk=n_images,
                max_queries_per_risk=1,
                min_side=64,
                **engine_urls,
            )
            collection = ImageCollection(
                settings.images_dir, settings.manifest_path, settings.phash_threshold
            )
            start = time.perf_counter()
            report = crawl_risks([BENCH_RISK], settings, collection)
            elapsed = time.perf_counter() - start
    finally:
        ours.send("stop")
        server.join(10)
    return {
        "crawler_images_per_s": round(report.kept() / elapsed, 1),
        "crawler_images_kept": report.kept(),
        "crawler_images_offered": n_images,
        "crawler_seconds": round(elapsed, 3),
        "crawler_threads": threads,
    }
