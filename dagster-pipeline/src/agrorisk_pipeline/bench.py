"""Benchmark: time to compute drift for 10,000 logged predictions (goal < 5 s).

Wall time (read the log, Evidently report, HTML file) after one warm-up report (the first report in
a process also pays one-off imports, reported separately), and the CPU time, which a busy shared
machine does not inflate."""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from agrorisk_common.detection import Box, Detection, Prediction
from agrorisk_common.features import image_features
from agrorisk_common.prediction_log import append_records, log_record, read_records
from agrorisk_common.procedural import draw_leaf
from agrorisk_pipeline.drift import compute_drift, records_frame

RISKS = ("wheat-septoria-leaf-blotch", "wheat-leaf-rust", "wheat-powdery-mildew")


def drawn_leaves(n_images: int = 90, seed: int = 0) -> list[tuple]:
    """(class index, image features, lesion boxes) of `n_images` drawn leaves."""
    rng = random.Random(seed)
    leaves = []
    for k in range(n_images):
        image, boxes = draw_leaf(k % len(RISKS), rng, 128)
        leaves.append((k % len(RISKS), image_features(image), boxes))
    return leaves


def synthetic_records(n: int, leaves: list[tuple], seed: int = 0) -> list[dict]:
    """`n` log records of photos drawn from `leaves` with predictions of their lesions."""
    rng = random.Random(seed)
    records = []
    for k in range(n):
        index, features, boxes = leaves[rng.randrange(len(leaves))]
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
    leaves = drawn_leaves()
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp) / "log"
        append_records(log_dir / "2026-01-01.jsonl", synthetic_records(rows, leaves, seed=1))
        reference = records_frame(synthetic_records(300, leaves, seed=2))
        warm_up = time.perf_counter()  # first Evidently report of a process: imports, plotly templates
        compute_drift(reference, reference, out_dir=Path(tmp) / "warm-up")
        cold_start_s = time.perf_counter() - warm_up
        started, cpu_started = time.perf_counter(), time.process_time()
        current = records_frame(read_records(log_dir, limit=rows))
        read_s = time.perf_counter() - started
        result = compute_drift(reference, current, out_dir=Path(tmp) / "report")
        total_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    name = "drift_10k_rows" if rows == 10_000 else f"drift_{rows}_rows"
    results = {
        f"{name}_s": round(total_s, 3),
        f"{name}_cpu_s": round(cpu_s, 3),
        "dataset_drift": result.dataset_drift,
        "read_log_s": round(read_s, 3),
        "first_report_in_process_s": round(cold_start_s, 3),
        "report_s": result.seconds,
        "rows": rows,
        "columns": len(result.columns),
        "goal_s": 5.0,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return results
