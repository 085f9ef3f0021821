"""`make bench` turns every package's results into one table a person can read."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import bench  # noqa: E402


def test_nested_results_become_one_row_per_metric():
    report = {
        "date": "2026-11-23T00:00:00+00:00",
        "machine": {"cpu_count": 2, "platform": "Linux", "python": "3.12.1"},
        "benchmarks": {
            "inference": {
                "results": {
                    "results": [
                        {"target": "bare", "concurrency": 8, "throughput_rps": 97.27, "first_error": None},
                        {"target": "ray", "concurrency": 8, "throughput_rps": 59.76},
                    ],
                    "ratios": {"ray/bare@8": 0.6143},
                    "settings": {"ray": {"num_replicas": 2}},
                }
            },
            "drift": {"error": "agrorisk-pipeline: not found"},
        },
    }
    markdown = bench.to_markdown(report)
    assert "2 cores" in markdown
    assert "| inference | bare@8.throughput_rps | 97.27 |" in markdown
    assert "| inference | ratios.ray/bare@8 | 0.6143 |" in markdown
    assert "settings" not in markdown and "first_error" not in markdown
    assert "| drift | error | agrorisk-pipeline: not found |" in markdown


def test_unknown_benchmark_name_is_refused(capsys):
    assert bench.main(["warp-drive"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err
