"""Benchmark: near-duplicate search over 10,000 pHashes, as a crawl checks and adds them.

The crawl itself is measured against a loopback search engine + image host by the dev tools
(`agrorisk-dev bench-crawler`).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from agrorisk_crawler.phash_index import PhashIndex

DEDUP_HASHES = 10_000


def bench_dedup(threshold: int = 6, seed: int = 0) -> dict:
    """Check-then-add 10,000 hashes (1 in 10 a near copy of an earlier one), as a crawl does."""
    rng = random.Random(seed)
    hashes: list[int] = []
    for _ in range(DEDUP_HASHES):
        if hashes and rng.random() < 0.1:
            flips = sum(1 << rng.randrange(64) for _ in range(rng.randint(0, threshold // 2)))
            hashes.append(rng.choice(hashes) ^ flips)
        else:
            hashes.append(rng.getrandbits(64))
    index = PhashIndex()
    near = 0
    start = time.perf_counter()
    for key, value in enumerate(hashes):
        if index.within(value, threshold):
            near += 1
        else:
            index.add(value, key)
    elapsed = time.perf_counter() - start
    return {"dedup_10k_s": round(elapsed, 4), "dedup_hashes": DEDUP_HASHES, "dedup_near_found": near}


def run_bench(out: Path) -> dict:
    """The dedup benchmark, written to `out` as JSON; returns the results."""
    results = bench_dedup()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results
