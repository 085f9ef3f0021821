"""`agrorisk-backend`: serve the API, or measure it under load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agrorisk_common.cli import HostOption, PortOption, cli_app, fail, one_line_errors, out
from agrorisk_common.logging import configure_logging

app = cli_app(
    "AgroRisk backend (FastAPI): recognise crop risks with the local model and Gemini, compare them, "
    "run batch jobs, take feedback. Settings come from AGRORISK_BACKEND_* (see the README)."
)


@app.command()
@one_line_errors()  # bad settings, a broken risk catalog
def serve(
    host: HostOption = None,
    port: PortOption = None,
    engine: Annotated[str | None, typer.Option(help="local model server: ray or triton")] = None,
) -> None:
    """Serve the API (Swagger UI at /docs). One process per jobs database: it runs the batch jobs."""
    import uvicorn

    from agrorisk_backend.main import create_app
    from agrorisk_backend.settings import Settings

    overrides = {k: v for k, v in {"host": host, "port": port, "engine": engine}.items() if v is not None}
    settings = Settings(**overrides)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)


@app.command()
def bench(
    url: Annotated[str, typer.Option(help="the running backend to load, e.g. http://127.0.0.1:8080")],
    out_file: Annotated[Path, typer.Option("--out", help="where to write the results (JSON)")] = Path(
        "bench/backend.json"
    ),
    requests: Annotated[int, typer.Option(min=1, help="compare requests to send")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, help="requests in flight at once")] = 10,
    gemini_down_url: Annotated[
        str | None,
        typer.Option(
            help="also load this backend, whose Gemini is unreachable: local results must still come"
        ),
    ] = None,
) -> None:
    """Send compare requests to a running backend and report throughput, p50/p95/p99 latency and errors.

    A local stack to measure (Ray Serve with a smoke model, a Gemini stand-in, the backend) is started
    by the dev tools: `agrorisk-dev bench-backend`.
    """
    import asyncio

    from agrorisk_backend.bench import BenchError, run_bench, summary

    configure_logging("WARNING")
    with one_line_errors(BenchError):
        result = asyncio.run(run_bench(out_file, requests, concurrency, url, gemini_down_url))
    out.print(summary(result, out_file))
    if result.errors:
        raise typer.Exit(1)


@app.command("decode-bench")
def decode_bench(
    out_file: Annotated[Path, typer.Option("--out", help="where to write the results (JSON)")] = Path(
        "bench/decode.json"
    ),
) -> None:
    """Peak memory a 49 MP PNG/JPEG upload adds to the backend, alone and four at once (goal: ≤ 200 MB)."""
    from agrorisk_backend.decode_bench import run_decode_bench
    from agrorisk_backend.settings import Settings

    with out.status("decoding 49 MP photos in fresh processes…"):
        result = run_decode_bench(out_file, Settings().decode_max_side)
    for run in result.runs:
        out.print(
            f"{run.kind} {run.megapixels:.0f} MP ({run.file_mb} MB) x{run.concurrency}, "
            f"decode side {run.max_side}: +{run.added_peak_mb:.0f} MB"
        )
    if not result.single_upload_within_goal:
        raise fail(f"one 49 MP upload adds more than {result.goal_added_mb:.0f} MB -> {out_file}")
