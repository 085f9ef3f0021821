"""The `agrorisk-crawl` CLI: help, clear errors, run + stats end to end, bench output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agrorisk_crawler.cli import app

SEPTORIA = "wheat-septoria-leaf-blotch"
runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "stats", "bench", "queries"):
        assert command in result.output
    run_help = runner.invoke(app, ["run", "--help"]).output
    for option in ("--risk", "--crop", "--risk-type", "--max-per-risk", "--engine"):
        assert option in run_help


def _one_error_line(result) -> str:
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_malformed_catalog_row_is_one_clear_error(scenario, tmp_path: Path) -> None:
    rows = scenario.catalog.read_text(encoding="utf-8").splitlines()
    rows[2] = rows[2].replace(",disease,", ",rumour,")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    for command in ("run", "stats"):
        line = _one_error_line(
            runner.invoke(app, [command, "--catalog", str(bad), "--download-dir", str(tmp_path)])
        )
        assert f"{bad}:3" in line and "unknown risk type 'rumour'" in line


def test_unknown_risk_id_crop_or_engine_is_one_clear_error(scenario, tmp_path: Path) -> None:
    base = ["run", "--catalog", str(scenario.catalog), "--download-dir", str(tmp_path)]
    assert "unknown risk id 'wheat-nope'" in _one_error_line(
        runner.invoke(app, [*base, "--risk", "wheat-nope"])
    )
    assert "unknown crop 'rice'" in _one_error_line(runner.invoke(app, [*base, "--crop", "rice"]))
    assert "unknown engine(s) yandex" in _one_error_line(runner.invoke(app, [*base, "--engine", "yandex"]))
    assert not (tmp_path / "manifest.csv").exists()


@pytest.mark.slow
def test_run_then_stats(scenario, tmp_path: Path) -> None:
    env = scenario.env(tmp_path)
    result = runner.invoke(app, ["run", "--risk", SEPTORIA, "--max-per-risk", "3"], env=env)
    assert result.exit_code == 0, result.output
    assert "Crawl summary" in result.output
    assert len(list((tmp_path / "images" / SEPTORIA).iterdir())) == 3

    result = runner.invoke(app, ["stats", "--crop", "winter_wheat", "--target", "4", "--json"], env=env)
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    counts = {r["risk_id"]: r["crawled"] for r in stats["risks"]}
    assert counts == {SEPTORIA: 3, "wheat-leaf-rust": 0}
    assert stats["under_target"] == {SEPTORIA: 1, "wheat-leaf-rust": 4}
    table = runner.invoke(app, ["stats", "--target", "4"], env=env).output
    assert "4 of 4 risk(s) under 4 images" in table


def test_bench_writes_its_numbers(tmp_path: Path) -> None:
    out = tmp_path / "bench" / "crawler.json"
    result = runner.invoke(app, ["bench", "--out", str(out)])
    assert result.exit_code == 0, result.output
    numbers = json.loads(out.read_text())
    assert numbers["dedup_hashes"] == 10_000 and numbers["dedup_10k_s"] > 0
    assert 900 <= numbers["dedup_near_found"] <= 1100  # about 1 in 10 planted near copies is found


def test_unreachable_engines_end_with_one_clear_error(scenario, tmp_path: Path) -> None:
    env = scenario.env(tmp_path) | {
        "AGRORISK_CRAWLER_ENGINES": "bing,baidu",
        "AGRORISK_CRAWLER_BING_URL": "http://127.0.0.1:9/images/async",  # port 9 (discard) is closed here
        "AGRORISK_CRAWLER_BAIDU_URL": "http://127.0.0.1:9/search/acjson",
        "AGRORISK_CRAWLER_RETRIES": "0",
    }
    result = runner.invoke(app, ["run", "--risk", SEPTORIA, "--risk", "wheat-leaf-rust"], env=env)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "no search engine could be reached (baidu, bing)" in errors[0]
    assert "WARNING" in result.stderr and "skipped for the other risks" in result.stderr
    assert "failed" in result.stdout  # the summary counts the failed result pages
