"""The CLI explains itself and refuses bad settings in one line."""

from __future__ import annotations

from typer.testing import CliRunner

from agrorisk_backend.cli import app

runner = CliRunner()


def test_help_lists_serve_and_bench_with_host_and_port():
    assert {"serve", "bench"} <= set(runner.invoke(app, ["--help"]).output.split())
    serve_help = runner.invoke(app, ["serve", "--help"]).output
    assert "--host" in serve_help and "--port" in serve_help and "--engine" in serve_help
    assert "--out" in runner.invoke(app, ["bench", "--help"]).output


def test_bad_engine_is_one_readable_line():
    result = runner.invoke(app, ["serve", "--engine", "tensorflow", "--port", "0"])
    assert result.exit_code == 1
    assert "error: invalid setting engine" in result.output and "Traceback" not in result.output
