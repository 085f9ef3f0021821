"""`agrorisk-ray`: serve the production model with Ray Serve, and benchmark it against bare ONNX Runtime and Triton."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agrorisk_common.cli import HostOption, PortOption, cli_app, err, fail, one_line, out
from agrorisk_ray.settings import Settings
from agrorisk_serving.model_source import ModelSource, ModelUnavailable
from agrorisk_storage import RegistryError, StorageSettings

app = cli_app(
    "AgroRisk on Ray Serve: serve the registry's production model over HTTP with dynamic batching, "
    "hot reload and Prometheus metrics; benchmark it against bare ONNX Runtime and Triton."
)


@app.command()
def serve(
    host: HostOption = None,
    port: PortOption = None,
    address: Annotated[
        str | None, typer.Option(help="Existing Ray cluster, e.g. ray://head:10001 [AGRORISK_RAY_ADDRESS].")
    ] = None,
    replicas: Annotated[int | None, typer.Option(min=1, help="Replicas [AGRORISK_RAY_NUM_REPLICAS].")] = None,
) -> None:
    """Serve POST /predict, GET /healthz and GET /version until Ctrl+C.

    Locally this starts a Ray instance; with --address the app is deployed on that cluster and its
    replicas spread over the cluster's nodes (the scale-out path). The model reloads by itself when
    the registry's alias moves.
    """
    from agrorisk_ray import server

    overrides = {
        k: v
        for k, v in {"host": host, "port": port, "address": address, "num_replicas": replicas}.items()
        if v
    }
    try:
        settings = Settings(**overrides)
        storage = StorageSettings()
        url = server.start(settings, storage)
    except (ValueError, ModelUnavailable, RegistryError, ConnectionError) as exc:
        raise fail(one_line(exc)) from None
    out.print(
        f"Serving on {url}  (POST /predict, GET /healthz, GET /version); metrics on :{settings.metrics_port}"
    )
    if settings.ingress == "haproxy" and not settings.address:
        out.print(f"HAProxy in front of the replicas: stats on :{settings.haproxy_stats_port}/stats")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("stopping")
    finally:
        server.stop()


@app.command("predict")
def predict_command(
    target: Annotated[Path, typer.Argument(help="A photo, or a folder of photos.")],
    model: Annotated[
        str | None,
        typer.Option(
            help="A registry version (v3) or alias, or a best.onnx / best.pt file; default: the "
            "alias the server serves [AGRORISK_RAY_MODEL_ALIAS]."
        ),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for <photo>.json (detection contract) and <photo>.jpg.")
    ] = Path("predictions"),
) -> None:
    """Recognise risks on photos with the serving engine and thresholds (the server's answers for
    the same photo and model version): a table, JSON per photo and annotated images."""
    from agrorisk_common.catalog import load_catalog
    from agrorisk_ray.photo_predict import local_model, names_of, photos_in, predict_photos, write_outputs

    try:
        settings = Settings()
        photos = photos_in(target)
        if model and Path(model).suffix in (".onnx", ".pt"):
            version, engine = local_model(Path(model))
        else:
            version = ModelSource.from_settings(StorageSettings(), settings.model_alias).pull(model)
            engine = settings.engine
        catalog = load_catalog()
    except (ValueError, OSError, ModelUnavailable, RegistryError) as exc:
        raise fail(one_line(exc)) from None
    table = Table("photo", "risk", "назва", "confidence", "box (x1 y1 x2 y2)")
    failed = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(f"model {version.version}", total=len(photos))
        for result in predict_photos(photos, version, engine, settings.detection_params):
            progress.advance(task)
            if result.prediction is None:
                failed += 1
                table.add_row(result.photo.name, f"[red]{result.error}[/red]", "", "", "")
                continue
            write_outputs(result, out_dir, catalog)
            if not result.prediction.detections:
                table.add_row(result.photo.name, "—", "ризиків не знайдено / no risk found", "", "")
            for d in result.prediction.detections:
                box = " ".join(f"{v:.3f}" for v in d.box.as_tuple())
                table.add_row(result.photo.name, d.risk_id, names_of(d.risk_id, catalog)["name_uk"],
                              f"{d.confidence:.2f}", box)  # fmt: skip
    out.print(table)
    p = settings.detection_params
    out.print(
        f"model {version.version} · engine {engine} · conf ≥ {p.conf_threshold} · NMS IoU {p.iou_threshold} · "
        f"{len(photos) - failed} photo(s) → {out_dir}/",
        highlight=False,
    )
    if failed:
        raise fail(f"{failed} of {len(photos)} photo(s) could not be read")


@app.command()
def bench(
    concurrency: Annotated[
        list[int] | None, typer.Option(min=1, help="Concurrency level; repeat for several [default: 8].")
    ] = None,
    requests: Annotated[int, typer.Option(min=1, help="Requests per target and level.")] = 200,
    images: Annotated[
        Path | None, typer.Option(help="Folder of photos to send (default: generated 640x480 JPEGs).")
    ] = None,
    size: Annotated[
        int | None, typer.Option(min=16, help="Re-encode each --images photo as a JPEG of size x size.")
    ] = None,
    out_file: Annotated[Path, typer.Option("--out", help="Results file (JSON).")] = Path(
        "bench-results.json"
    ),
    triton: Annotated[
        bool,
        typer.Option(help="Include Triton (started as `agrorisk-triton serve`)."),
    ] = True,
) -> None:
    """Load-test bare in-process ONNX Runtime, Ray Serve and Triton on the same model and images.

    Prints throughput, p50/p95/p99 latency and errors per target and level, and each server's
    throughput as a ratio of bare ONNX Runtime's; writes everything to --out. The model is the
    registry's (AGRORISK_STORAGE_*); to load-test a throwaway smoke model instead:
    `agrorisk-dev with-smoke-model --imgsz 320 -- agrorisk-ray bench`.
    """
    from agrorisk_ray.bench import load_images, run_benchmark
    from agrorisk_ray.bench_triton import TritonUnavailable, triton_executable
    from agrorisk_serving.drawn import drawn_jpegs

    if triton:
        try:
            triton_executable()
        except TritonUnavailable as exc:
            raise fail(one_line(exc)) from None
    levels = concurrency or [8]
    settings = Settings()
    storage = StorageSettings()
    try:
        model = ModelSource.from_settings(storage, settings.model_alias).pull()
        photos = load_images(images, 64, size) if images else drawn_jpegs([(640, 480)] * 16)
    except (ModelUnavailable, RegistryError, ValueError, OSError) as exc:
        raise fail(one_line(exc)) from None
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    with progress:
        try:
            report = run_benchmark(model, storage, photos, levels, requests, settings, triton, progress)
        except TritonUnavailable as exc:
            raise fail(one_line(exc)) from None
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(report.model_dump_json(indent=2))
    table = Table(title=f"model {report.model_version} @ {report.imgsz}px, {report.cpus} CPUs")
    for column in ("target", "concurrency", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right" if column != "target" else "left")
    for row in report.table():
        table.add_row(*row)
    out.print(table)
    for name, ratio in report.ratios.items():
        out.print(f"{name}: {ratio:.2f}x")
    out.print(f"results written to {out_file}")
    out.print(json.dumps(report.ratios))
