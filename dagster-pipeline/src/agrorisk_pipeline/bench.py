"""Benchmark: time to compute drift for 10,000 logged predictions (goal < 5 s)."""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_common.features import image_features
from agrorisk_common.procedural import draw_leaf
from agrorisk_pipeline.drift import compute_drift, records_frame
from agrorisk_pipeline.prediction_log import append_records, log_record, read_records

RISKS = ("wheat-septoria-leaf-blotch", "wheat-leaf-rust", "wheat-powdery-mildew")


def synthetic_records(n: int, n_images: int = 60, seed: int = 0) -> list[dict]:
    """`n` log records over `n_images` drawn leaves (features computed once per image)."""
    rng = random.Random(seed)
    images = []
    for k in range(n_images):
        index = k % len(RISKS)
        image, boxes = draw_leaf(index, rng, 128)
        images.append((index, image_features(image), boxes))
    records = []
    for k in range(n):
        index, features, boxes = images[rng.randrange(n_images)]
        detections = [
            Detection(risk_id=RISKS[index], class_index=index, confidence=rng.uniform(0.4, 0.95), box=b)
            for b in boxes or [Box.whole_image()]
        ]
        records.append(
            log_record(Prediction(source="yolo", detections=detections), features, image_sha256=f"{k:064x}")
        )
    return records


def run_bench(out: Path, rows: int = 10_000) -> dict:
    """Write a log of `rows` records, then time reading it and computing the drift report."""
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp) / "log"
        append_records(log_dir / "2026-01-01.jsonl", synthetic_records(rows, seed=1))
        reference = records_frame(synthetic_records(300, seed=2))
        started = time.perf_counter()
        current = records_frame(read_records(log_dir, limit=rows))
        read_s = time.perf_counter() - started
        result = compute_drift(reference, current, out_dir=Path(tmp) / "report")
        total_s = time.perf_counter() - started
    results = {
        "drift_10k_rows_s" if rows == 10_000 else f"drift_{rows}_rows_s": round(total_s, 3),
        "read_log_s": round(read_s, 3),
        "report_s": result.seconds,
        "rows": rows,
        "columns": len(result.columns),
        "goal_s": 5.0,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return results
