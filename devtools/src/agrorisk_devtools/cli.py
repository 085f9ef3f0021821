"""`agrorisk-dev`: the dev-only stand-ins, smoke models and benchmarks that start them (never in an image)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from agrorisk_common.catalog import CatalogError, load_catalog
from agrorisk_common.cli import err, fail, one_line, out
from agrorisk_common.logging import configure_logging
from agrorisk_storage import RegistryError, StorageSettings

app = typer.Typer(
    help="AgroRisk dev tools: local stand-ins (Gemini's REST API), throwaway smoke models and the "
    "benchmarks that start a local stack to measure. For tests, benchmarks and local runs only: no "
    "product package or image contains them. The product commands (agrorisk-backend bench, "
    "agrorisk-serving bench, agrorisk-ray bench, agrorisk-crawl bench) measure a given URL or model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _risk_ids(count: int) -> list[str]:
    try:
        return [risk.id for risk in load_catalog()][:count]
    except CatalogError as exc:
        raise fail(one_line(exc)) from None


@app.command("gemini-standin")
def gemini_standin(
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 0,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    api_key: Annotated[str | None, typer.Option(help="Only accept this key (default: any).")] = None,
) -> None:
    """Serve a local stand-in for Gemini's REST API (demos, end-to-end tests) until Ctrl-C.

    It answers generateContent, batches and context caches in the real wire shape, with a plausible
    detection per photo; point the backend or `agrorisk-gemini` at it with AGRORISK_GEMINI_BASE_URL.
    """
    from agrorisk_devtools.gemini_standin import FakeGeminiServer

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        server = FakeGeminiServer(host=host, port=port, api_key=api_key).start()
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {one_line(exc)}") from None
    out.print(f"Gemini stand-in listening on {server.base_url}", highlight=False)
    out.print(f"use: AGRORISK_GEMINI_BASE_URL={server.base_url} GEMINI_API_KEY=any", highlight=False)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()


@app.command("smoke-model")
def smoke_model(
    classes: Annotated[int, typer.Option(min=1, help="How many catalog risks the model knows.")] = 2,
    imgsz: Annotated[int, typer.Option(min=32, help="Training and export image size.")] = 64,
    promote: Annotated[bool, typer.Option(help="Promote the pushed version to production.")] = True,
) -> None:
    """Train a one-epoch YOLO11 on drawn images, export ONNX and push it to the registry (AGRORISK_STORAGE_*).

    A real but useless model, for demos and benchmarks on a machine with no trained model.
    """
    from agrorisk_devtools.smoke_model import push_smoke_model

    configure_logging("WARNING")
    names = _risk_ids(classes)
    out.print(f"training a smoke model for {names} …", highlight=False)
    try:
        version = push_smoke_model(StorageSettings(), names, imgsz=imgsz, promote=promote)
    except (RegistryError, ValueError, OSError) as exc:
        raise fail(one_line(exc)) from None
    out.print(f"pushed {version}{' and promoted it to production' if promote else ''}")


@app.command("with-smoke-model")
def with_smoke_model(
    command: Annotated[list[str], typer.Argument(help="The command to run, after `--`.", show_default=False)],
    classes: Annotated[int, typer.Option(min=1, help="How many catalog risks the model knows.")] = 2,
    imgsz: Annotated[int, typer.Option(min=32, help="Training and export image size.")] = 64,
) -> None:
    """Run COMMAND against a temporary local registry whose production model is a fresh smoke model.

    COMMAND sees that registry (AGRORISK_STORAGE_LOCAL_ROOT, no MinIO); its exit code is this one's.

    E.g.: agrorisk-dev with-smoke-model -- agrorisk-serving bench --repeats 10

    or: agrorisk-dev with-smoke-model --imgsz 320 -- agrorisk-ray bench --no-triton
    """
    from agrorisk_devtools.smoke_model import push_smoke_model

    configure_logging("WARNING")
    executable = _executable(command[0])
    names = _risk_ids(classes)
    with tempfile.TemporaryDirectory(prefix="agrorisk-smoke-registry-") as work:
        storage = StorageSettings(
            endpoint="", local_root=Path(work) / "registry", cache_dir=Path(work) / "cache"
        )
        err.print(f"training a throwaway smoke model at {imgsz}px for {names} …", highlight=False)
        try:
            push_smoke_model(storage, names, imgsz=imgsz, creator="agrorisk-dev with-smoke-model")
        except (RegistryError, ValueError, OSError) as exc:
            raise fail(one_line(exc)) from None
        env = os.environ | {
            "AGRORISK_STORAGE_ENDPOINT": "",
            "AGRORISK_STORAGE_LOCAL_ROOT": str(storage.local_root),
            "AGRORISK_STORAGE_CACHE_DIR": str(storage.cache_dir),
        }
        code = subprocess.run([executable, *command[1:]], env=env, check=False).returncode
    raise typer.Exit(code)


def _executable(name: str) -> str:
    """A console script of this environment by name, else one on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if os.sep not in name and beside.is_file() else shutil.which(name)
    if found is None:
        raise fail(f"no such command: {name}")
    return found


@app.command("bench-backend")
def bench_backend(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the results (JSON).")] = Path(
        "bench/backend.json"
    ),
    requests: Annotated[int, typer.Option(min=1, help="Compare requests to send.")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight at once.")] = 10,
) -> None:
    """Start a local stack on loopback and load it as `agrorisk-backend bench --url` does.

    The stack: Ray Serve with a two-epoch smoke model, the Gemini stand-in and the backend, plus a
    second backend whose Gemini is unreachable (compares there must still bring the local result).
    """
    from agrorisk_backend.cli import bench
    from agrorisk_devtools.backend_stack import StackError, bench_stack

    configure_logging("WARNING")
    names = _risk_ids(2)
    err.print("starting Ray Serve (smoke model), the Gemini stand-in and the backend …")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="agrorisk-bench-") as work,
            bench_stack(Path(work), names) as (url, gemini_down_url),
        ):
            bench(url, out_file, requests, concurrency, gemini_down_url)  # the backend's own command
    except StackError as exc:  # it keeps the failing server's log tail
        raise fail(str(exc)) from None


@app.command("bench-crawler")
def bench_crawler(
    out_file: Annotated[Path, typer.Option("--out", help="JSON file for the results.")] = Path(
        "bench/crawler.json"
    ),
    images: Annotated[int, typer.Option(min=10, help="Distinct images the loopback site serves.")] = 600,
    threads: Annotated[int, typer.Option(min=1, max=64, help="Download threads.")] = 8,
) -> None:
    """Images/s the crawler keeps from a loopback search engine + image host, and seconds to dedup
    10,000 pHashes (`agrorisk-crawl bench`)."""
    from agrorisk_crawler.bench import bench_dedup
    from agrorisk_devtools.crawl_bench import bench_crawl

    try:
        results = {**bench_crawl(images, threads), **bench_dedup()}
    except (RuntimeError, OSError) as exc:
        raise fail(one_line(exc)) from None
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    out.print_json(json.dumps(results))
    out.print(f"written to {out_file}")
