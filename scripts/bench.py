"""`make bench`: run every package's benchmark in small size; write bench/results.json and .md.

Each benchmark is a command that takes `--out FILE.json` last and writes its {metric: value} dict:
a package's `<cli> bench`, or, where the thing measured is a local stand-in or a smoke model,
the dev-only `agrorisk-dev` that starts it (`bench-backend`, `bench-crawler`, `with-smoke-model --`).
A failing benchmark is recorded with its error and the others still run.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
# Real photos (PlantDoc, CC BY 4.0) where the machine has the shared copy, else the drawn defaults.
PLANTDOC_IMAGES = REPO.parent / "shared" / "datasets" / "plantdoc-cc-by-4.0" / "images"
PHOTOS = sorted(PLANTDOC_IMAGES.glob("*.jpg")) if PLANTDOC_IMAGES.is_dir() else []
BENCHMARKS = {
    "storage": ["agrorisk-models", "bench"],
    "crawler": ["agrorisk-dev", "bench-crawler"],
    "training": ["agrorisk-train", "bench"],
    "serving": [
        *["agrorisk-dev", "with-smoke-model", "--", "agrorisk-serving", "bench"],
        *(["--photo", str(PHOTOS[0])] if PHOTOS else []),
    ],
    "inference": [  # a YOLO11n at 640 px, the photos as 640x640 JPEGs
        *["agrorisk-dev", "with-smoke-model", "--imgsz", "640", "--"],
        *["agrorisk-ray", "bench", "--concurrency", "1", "--concurrency", "8", "--requests", "100"],
        *(["--images", str(PLANTDOC_IMAGES), "--size", "640"] if PHOTOS else []),
    ],
    "backend": ["agrorisk-dev", "bench-backend"],
    "decode": ["agrorisk-backend", "decode-bench"],
    "drift": ["agrorisk-pipeline", "bench"],
}


def run_one(name: str, command: list[str], out_dir: Path) -> dict:
    out = out_dir / f"{name}.json"
    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / command[0]), *command[1:], "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    entry = {"command": " ".join(command), "wall_s": round(time.perf_counter() - started, 1)}
    if proc.returncode == 0 and out.exists():
        entry["results"] = json.loads(out.read_text())
    else:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        entry["error"] = lines[-1] if lines else f"exit code {proc.returncode}"
    return entry


SKIPPED_KEYS = {"settings", "error_samples", "first_error", "started_at", "target", "concurrency"}


def flatten(results: dict, prefix: str = "") -> list[tuple[str, object]]:
    """Metric rows from a package's nested results: dicts by key, lists of runs by target@concurrency."""
    rows: list[tuple[str, object]] = []
    for key, value in results.items():
        if key in SKIPPED_KEYS or value is None:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flatten(value, f"{name}.")
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for run in value:
                label = str(run.get("target", "run")) + (
                    f"@{run['concurrency']}" if "concurrency" in run else ""
                )
                rows += flatten(run, f"{label}.")
        else:
            rows.append((name, value))
    return rows


def to_markdown(report: dict) -> str:
    machine = report["machine"]
    lines = [
        "# AgroRisk benchmarks",
        "",
        f"{report['date']} · {machine['cpu_count']} cores · {machine['platform']} · Python {machine['python']}",
        "",
        "| benchmark | metric | value |",
        "|---|---|---|",
    ]
    for name, entry in report["benchmarks"].items():
        if "error" in entry:
            lines.append(f"| {name} | error | {entry['error']} |")
            continue
        for metric, value in flatten(entry["results"]):
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(f"| {name} | {metric} | {shown} |")
    long_runs = REPO / "bench" / "long-runs.md"  # measured outside `make bench` (hours, or a GPU)
    if long_runs.is_file():
        lines += ["", long_runs.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def _earlier_results(rerun: list[str]) -> dict:
    """The last results of the benchmarks not run now, so `make bench BENCH=name` updates one section."""
    earlier = REPO / "bench" / "results.json"
    if not earlier.is_file():
        return {}
    kept = json.loads(earlier.read_text()).get("benchmarks", {})
    return {name: entry for name, entry in kept.items() if name in BENCHMARKS and name not in rerun}


def main(selected: list[str]) -> int:
    names = selected or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "benchmarks": _earlier_results(names),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f">> bench {name}: {' '.join(BENCHMARKS[name])}", flush=True)
            entry = run_one(name, BENCHMARKS[name], Path(tmp))
            report["benchmarks"][name] = entry
            print(f"   {entry.get('error') or entry['results']}", flush=True)
    out_dir = REPO / "bench"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "results.md").write_text(to_markdown(report))
    print(f"wrote {out_dir / 'results.json'} and {out_dir / 'results.md'}")
    return 1 if any("error" in e for e in report["benchmarks"].values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
