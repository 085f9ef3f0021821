"""`agrorisk-web`: serve the Gradio UI."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from pydantic import ValidationError

from agrorisk_common.cli import fail, one_line
from agrorisk_common.logging import configure_logging
from agrorisk_web.settings import Settings

app = typer.Typer(
    help="AgroRisk web UI (Gradio): upload a photo and compare Gemini with the local model side by side, "
    "browse the risk catalog, model versions and service links. Talks to the backend over HTTP only; "
    "settings come from AGRORISK_WEB_* (see the README).",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """AgroRisk web UI."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to listen on (default from settings)")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (default from settings: 7860)")] = None,
    backend_url: Annotated[
        str | None,
        typer.Option(help="the AgroRisk backend, e.g. http://127.0.0.1:8080 (default from settings)"),
    ] = None,
) -> None:
    """Serve the UI (Compare, Risk catalog, Models and Services tabs)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    configure_logging()
    overrides = {
        k: v for k, v in {"host": host, "port": port, "backend_url": backend_url}.items() if v is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise fail(one_line(exc)) from None
    import uvicorn

    from agrorisk_web.app import create_web_app

    uvicorn.run(create_web_app(settings), host=settings.host, port=settings.port, log_config=None)
