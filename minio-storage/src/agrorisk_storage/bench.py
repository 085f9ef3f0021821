"""Registry benchmark: push and pull throughput, cold and warm cache, small-push latency, list time."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from agrorisk_storage.registry import ModelRegistry
from agrorisk_storage.settings import StorageSettings

BENCH_BUCKET = "agrorisk-bench"


def run_bench(
    settings: StorageSettings, out: Path, size_mb: int = 64, small_pushes: int = 20
) -> dict[str, float]:
    """Measure on the active backend (S3 bucket `agrorisk-bench`, or a temporary local folder).

    Writes a flat {metric: value} JSON to `out` and returns it. Versions it pushes are deleted again.
    """
    with tempfile.TemporaryDirectory(prefix="agrorisk-bench-") as tmp:
        work = Path(tmp)
        bench_settings = settings.model_copy(
            update={
                "models_bucket": BENCH_BUCKET,
                "local_root": work / "registry",
                "cache_dir": work / "cache",
            }
        )
        registry = ModelRegistry.from_settings(bench_settings)
        big = work / "best.pt"
        big.write_bytes(os.urandom(size_mb * 1_000_000))
        small = work / "metrics.json"
        small.write_text('{"mAP50": 0.5}')

        started = time.perf_counter()
        pushed = [registry.push({"metrics.json": small}) for _ in range(small_pushes)]
        small_push_ms = (time.perf_counter() - started) * 1000 / small_pushes
        started = time.perf_counter()
        info = registry.push({"best.pt": big}, {"bench": True})
        push_s = time.perf_counter() - started
        started = time.perf_counter()
        registry.pull(info.version, work / "cold")
        cold_s = time.perf_counter() - started
        started = time.perf_counter()
        registry.pull(info.version, work / "warm")
        warm_s = time.perf_counter() - started

        started = time.perf_counter()
        listed = registry.list()
        list_ms = (time.perf_counter() - started) * 1000

        for version in [info, *pushed]:
            registry.delete(version.version, force=True)

    results = {
        "backend_s3": float(settings.uses_s3),
        "file_mb": float(size_mb),
        "push_mb_per_s": round(size_mb / push_s, 1),
        "pull_cold_mb_per_s": round(size_mb / cold_s, 1),
        "pull_warm_cache_mb_per_s": round(size_mb / warm_s, 1),
        "small_push_ms": round(small_push_ms, 1),
        "versions_listed": float(len(listed)),
        "list_ms": round(list_ms, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return results
