"""`agrorisk-web`: serve the Gradio UI."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from agrorisk_common.cli import HostOption, PortOption, cli_app, one_line_errors
from agrorisk_web.settings import Settings

app = cli_app(
    "AgroRisk web UI (Gradio): upload a photo and compare Gemini with the local model side by side, "
    "browse the risk catalog, model versions and service links. Talks to the backend over HTTP only; "
    "settings come from AGRORISK_WEB_* (see the README)."
)


@app.command()
@one_line_errors()  # bad settings
def serve(
    host: HostOption = None,
    port: PortOption = None,
    backend_url: Annotated[
        str | None,
        typer.Option(help="the AgroRisk backend, e.g. http://127.0.0.1:8080 (default from settings)"),
    ] = None,
) -> None:
    """Serve the UI (Compare, Risk catalog, Models and Services tabs)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    overrides = {
        k: v for k, v in {"host": host, "port": port, "backend_url": backend_url}.items() if v is not None
    }
    settings = Settings(**overrides)
    import uvicorn

    from agrorisk_web.app import create_web_app

    uvicorn.run(create_web_app(settings), host=settings.host, port=settings.port, log_config=None)
