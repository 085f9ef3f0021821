"""`agrorisk-backend`: serve the API, or measure it under load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from agrorisk_common.cli import fail, one_line
from agrorisk_common.logging import configure_logging

app = typer.Typer(
    help="AgroRisk backend (FastAPI): recognise crop risks with the local model and Gemini, compare them, "
    "run batch jobs, take feedback. Settings come from AGRORISK_BACKEND_* (see the README).",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to listen on (default from settings)")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (default from settings: 8080)")] = None,
    engine: Annotated[str | None, typer.Option(help="local model server: ray or triton")] = None,
) -> None:
    """Serve the API (Swagger UI at /docs). One process per jobs database: it runs the batch jobs."""
    import uvicorn

    from agrorisk_backend.settings import Settings

    configure_logging()
    overrides = {k: v for k, v in {"host": host, "port": port, "engine": engine}.items() if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise fail(one_line(exc)) from None
    from agrorisk_backend.main import create_app
    from agrorisk_common.catalog import CatalogError

    try:
        api = create_app(settings)
    except (CatalogError, ValidationError) as exc:
        raise fail(one_line(exc)) from None
    uvicorn.run(api, host=settings.host, port=settings.port, log_config=None)


@app.command()
def bench(
    out: Annotated[Path, typer.Option(help="where to write the results (JSON)")] = Path("bench/backend.json"),
    requests: Annotated[int, typer.Option(min=1, help="compare requests to send")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, help="requests in flight at once")] = 10,
    url: Annotated[
        str | None,
        typer.Option(
            help="a running backend to load; default: start Ray Serve, a fake Gemini and the backend here"
        ),
    ] = None,
) -> None:
    """Send compare requests on loopback and report throughput, p50/p95/p99 latency and errors."""
    import asyncio

    from agrorisk_backend.bench import BenchError, run_bench

    configure_logging("WARNING")
    try:
        result = asyncio.run(run_bench(out, requests=requests, concurrency=concurrency, url=url))
    except BenchError as exc:  # keeps the failing server's log tail
        raise fail(str(exc)) from None
    Console().print(
        f"{result.requests} compare requests at concurrency {result.concurrency}: {result.errors} errors, "
        f"p50 {result.p50_ms:.0f} ms, p95 {result.p95_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, "
        f"{result.throughput_rps:.1f} req/s -> {out}"
    )
    if result.errors:
        raise typer.Exit(1)


@app.command("decode-bench")
def decode_bench(
    out: Annotated[Path, typer.Option(help="where to write the results (JSON)")] = Path("bench/decode.json"),
) -> None:
    """Peak memory a 49 MP PNG/JPEG upload adds to the backend, alone and four at once (goal: ≤ 200 MB)."""
    from agrorisk_backend.decode_bench import run_decode_bench
    from agrorisk_backend.settings import Settings

    with Console().status("decoding 49 MP photos in fresh processes…"):
        result = run_decode_bench(out, Settings().decode_max_side)
    for run in result.runs:
        Console().print(
            f"{run.kind} {run.megapixels:.0f} MP ({run.file_mb} MB) x{run.concurrency}, "
            f"decode side {run.max_side}: +{run.added_peak_mb:.0f} MB"
        )
    if not result.single_upload_within_goal:
        raise fail(f"one 49 MP upload adds more than {result.goal_added_mb:.0f} MB -> {out}")
