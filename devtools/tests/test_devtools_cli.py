"""`agrorisk-dev`: its help, clear errors, the stand-in and the crawler benchmark end to end."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agrorisk_devtools.cli import app
from agrorisk_devtools.gemini_standin import FakeGeminiServer
from agrorisk_devtools.gemini_wire import FakeReply, finding

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("gemini-standin", "smoke-model", "with-smoke-model", "bench-backend", "bench-crawler"):
        assert command in result.output


def test_an_unknown_command_under_a_smoke_model_is_one_error_line_before_any_training() -> None:
    result = runner.invoke(app, ["with-smoke-model", "--", "agrorisk-no-such-tool", "bench"])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: no such command: agrorisk-no-such-tool"]


def test_the_standin_answers_generate_content_in_gemini_s_shape() -> None:
    with FakeGeminiServer(api_key="k") as server:
        server.script(FakeReply.answer([finding("wheat-leaf-rust", [1, 2, 3, 4])]))
        url = f"{server.base_url}/v1beta/models/gemini-2.5-flash:generateContent"
        body = {"contents": [{"parts": [{"text": "photo"}]}]}
        answer = httpx.post(url, json=body, headers={"x-goog-api-key": "k"}).json()
        refused = httpx.post(url, json=body, headers={"x-goog-api-key": "wrong"})
    text = answer["candidates"][0]["content"]["parts"][0]["text"]
    assert json.loads(text)["findings"][0]["risk_id"] == "wheat-leaf-rust"
    assert refused.status_code == 400 and "API key not valid" in refused.json()["error"]["message"]


@pytest.mark.slow
def test_bench_crawler_writes_its_numbers(tmp_path: Path) -> None:
    out = tmp_path / "bench" / "crawler.json"
    result = runner.invoke(app, ["bench-crawler", "--out", str(out), "--images", "30", "--threads", "8"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(out.read_text())
    assert numbers["crawler_images_kept"] == 30 and numbers["crawler_images_per_s"] > 0
    assert numbers["dedup_hashes"] == 10_000 and 900 <= numbers["dedup_near_found"] <= 1100
