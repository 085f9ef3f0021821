"""`agrorisk-triton`: a local Triton for development, the model-repository generator for NVIDIA's
Triton container, and the watcher that loads new production versions into it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agrorisk_common.cli import HostOption, cli_app, err, fail, one_line, out
from agrorisk_serving.model_source import ModelSource, ModelUnavailable
from agrorisk_storage import RegistryError, StorageSettings
from agrorisk_triton.settings import Settings

app = cli_app(
    "AgroRisk on NVIDIA Triton: serve the registry's production model locally (PyTriton), "
    "generate a Triton model repository from a registry version, and keep a Triton server on the "
    "production version."
)


@app.command()
def serve(
    host: HostOption = None,
    http_port: Annotated[int | None, typer.Option(help="HTTP port [AGRORISK_TRITON_HTTP_PORT].")] = None,
    grpc_port: Annotated[int | None, typer.Option(help="gRPC port [AGRORISK_TRITON_GRPC_PORT].")] = None,
) -> None:
    """Run a local Triton (bundled with PyTriton) serving model `agrorisk_detector` until Ctrl+C.

    Image bytes in, detections out, over Triton's HTTP and gRPC APIs; ONNX Runtime runs inside a
    Python-backend model; the model reloads by itself when the registry's alias moves.
    """
    from agrorisk_triton.pytriton_server import DetectorServer

    overrides = {k: v for k, v in {"host": host, "http_port": http_port, "grpc_port": grpc_port}.items() if v}
    try:
        settings = Settings(**overrides)
        server = DetectorServer(settings, StorageSettings())
        server.start()
    except (ValueError, ModelUnavailable, RegistryError) as exc:
        raise fail(one_line(exc)) from None
    if server.model.detector is None:
        err.print(
            f"[yellow]no model yet:[/yellow] {server.model.last_error}; serving errors until one is promoted"
        )
    out.print(
        f"Triton on {settings.host}: HTTP :{settings.http_port}, gRPC :{settings.grpc_port}, "
        f"metrics :{settings.metrics_port}; model agrorisk_detector {server.model.version or '(none)'}"
    )
    server.serve_forever()


@app.command()
def repo(
    version: Annotated[
        str, typer.Option(help="Registry version or alias: v3, 3, production.")
    ] = "production",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Repository folder [AGRORISK_TRITON_REPOSITORY_DIR].")
    ] = None,
) -> None:
    """Generate a Triton model repository (onnxruntime model + Python-backend pre/post-processing)
    from a registry version, for NVIDIA's Triton container."""
    from agrorisk_triton.model_repository import write_repository

    try:
        settings = Settings()
        model = ModelSource.from_settings(StorageSettings()).pull(version)
        path = write_repository(model, out_dir or settings.repository_dir, settings)
    except (ValueError, ModelUnavailable, RegistryError, OSError) as exc:
        raise fail(one_line(exc)) from None
    out.print(f"wrote the Triton repository for {model.version} to {path}")


@app.command()
def watch(
    url: Annotated[str | None, typer.Option(help="Triton HTTP host:port [AGRORISK_TRITON_URL].")] = None,
    out_dir: Annotated[Path | None, typer.Option("--repo", help="The repository Triton serves.")] = None,
    interval: Annotated[float | None, typer.Option(min=1, help="Seconds between checks.")] = None,
) -> None:
    """Keep a Triton started with --model-control-mode=explicit on the production version: write each
    new version into its repository and load it through Triton's repository API."""
    from agrorisk_triton.repository_sync import RepositorySync

    settings = Settings()
    try:
        sync = RepositorySync(
            ModelSource.from_settings(StorageSettings(), settings.model_alias),
            out_dir or settings.repository_dir,
            settings,
            url or settings.url,
        )
    except (ValueError, RegistryError) as exc:
        raise fail(one_line(exc)) from None
    out.print(f"watching alias {settings.model_alias!r} for Triton at {url or settings.url}; Ctrl+C stops")
    try:
        sync.watch(interval or settings.reload_interval_s or 10.0)
    except KeyboardInterrupt:
        out.print("stopped")
