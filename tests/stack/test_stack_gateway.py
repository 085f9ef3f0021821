"""The nginx gateway: its config passes Debian's `nginx -t`, and started on loopback in front of a real
backend and Gradio (their own CLIs) it routes every path, streams Gradio's queue (SSE), upgrades
websockets, and lets the backend answer oversize photos itself."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stack_support import (
    GATEWAY_HTML,
    REPO,
    free_port,
    load_compose,
    loopback_values,
    nginx_test,
    wait_for,
    write_nginx_prefix,
)

BIN = Path(sys.executable).parent


def test_gateway_config_as_compose_renders_it_passes_nginx_t(tmp_path):
    values = dict(load_compose()["services"]["nginx"]["environment"])
    values["NGINX_LOCAL_RESOLVERS"] = "127.0.0.11"  # what the image's entrypoint finds in Docker
    values["AGRORISK_GATEWAY_HTML_ROOT"] = str(GATEWAY_HTML)
    result = nginx_test(tmp_path, write_nginx_prefix(tmp_path, values))
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_t_rejects_a_gateway_rendered_without_its_variables(tmp_path):
    values = loopback_values(free_port(), {})
    del values["AGRORISK_GATEWAY_MAX_BODY"]
    result = nginx_test(tmp_path, write_nginx_prefix(tmp_path, values))
    assert result.returncode != 0
    assert "client_max_body_size" in result.stderr


def _leaf_jpeg(size: int = 320) -> bytes:
    from agrorisk_common.procedural import draw_leaf

    image, _ = draw_leaf(0, random.Random(0), size=size)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _serve_websocket_echo(port: int) -> None:
    """A websocket echo at /dagster/graphql: stands where Dagster's GraphQL subscriptions are."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute

    async def echo(websocket):
        await websocket.accept()
        await websocket.send_text("echo:" + await websocket.receive_text())
        await websocket.close()

    app = Starlette(routes=[WebSocketRoute("/dagster/graphql", echo)])
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")).run()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, start_nginx) -> Iterator[dict]:
    """backend + Gradio started by their CLIs, a websocket echo, nginx in front; yields their URLs."""
    work = tmp_path_factory.mktemp("gateway-stack")
    gateway_port, backend_port, web_port, ws_port = (free_port() for _ in range(4))
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGRORISK_", "GEMINI_", "GOOGLE_"))}
    env.update(
        AGRORISK_CATALOG_DIR=str(REPO / "crawler" / "risks"),
        AGRORISK_BACKEND_DATA_DIR=str(work / "backend"),
        AGRORISK_BACKEND_RAY_URL=f"http://127.0.0.1:{free_port()}",  # no model server: a clear error
        AGRORISK_BACKEND_PUBLIC_BASE_URL=gateway_url,
        AGRORISK_STORAGE_LOCAL_ROOT=str(work / "registry"),
        GRADIO_ANALYTICS_ENABLED="False",
    )
    logs = {name: (work / f"{name}.log").open("wb") for name in ("backend", "web")}
    processes = [
        subprocess.Popen(
            [BIN / "agrorisk-backend", "serve", "--host", "127.0.0.1", "--port", str(backend_port)],
            cwd=work, env=env, stdout=logs["backend"], stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [BIN / "agrorisk-web", "serve", "--host", "127.0.0.1", "--port", str(web_port),
             "--backend-url", f"http://127.0.0.1:{backend_port}"],
            cwd=work, env=env, stdout=logs["web"], stderr=subprocess.STDOUT,
        ),
    ]  # fmt: skip
    threading.Thread(target=_serve_websocket_echo, args=(ws_port,), daemon=True).start()
    try:
        wait_for(f"http://127.0.0.1:{backend_port}/healthz", 90, processes[0])
        wait_for(f"http://127.0.0.1:{web_port}/healthz", 90, processes[1])
        url, prefix = start_nginx(
            {
                "AGRORISK_GATEWAY_BACKEND": f"127.0.0.1:{backend_port}",
                "AGRORISK_GATEWAY_WEB": f"127.0.0.1:{web_port}",
                "AGRORISK_GATEWAY_DAGSTER": f"127.0.0.1:{ws_port}",
            },
            port=gateway_port,
        )
        yield {"url": url, "access_log": prefix / "access.log"}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        for log in logs.values():
            log.close()


@pytest.mark.slow
def test_landing_page_links_every_ui_and_each_path_is_routed(gateway):
    from agrorisk_backend.settings import DEFAULT_LINKS

    landing = httpx.get(f"{gateway['url']}/services/")
    assert landing.status_code == 200 and "text/html" in landing.headers["content-type"]
    for name, path in DEFAULT_LINKS.items():
        assert f'href="{path}"' in landing.text, f"the landing page has no link to {name} ({path})"
        answer = httpx.get(gateway["url"] + path)
        assert not (answer.status_code == 404 and "nginx" in answer.text), f"{path} is not routed"
        if answer.status_code == 502:  # not started in this test: the gateway says so clearly
            assert "not running" in answer.text
    assert httpx.get(gateway["url"] + "/").status_code == 200
    assert "swagger" in httpx.get(gateway["url"] + "/docs").text.lower()


@pytest.mark.slow
def test_backend_api_and_links_through_the_gateway(gateway):
    schema = httpx.get(f"{gateway['url']}/openapi.json").json()
    assert "/v1/compare" in schema["paths"]
    links = httpx.get(f"{gateway['url']}/v1/links").json()
    assert links["dagster"] == f"{gateway['url']}/dagster/"
    assert links["swagger"] == f"{gateway['url']}/docs"
    predicted = httpx.post(
        f"{gateway['url']}/v1/predict", files={"file": ("leaf.jpg", _leaf_jpeg(), "image/jpeg")}, timeout=60
    )
    assert predicted.status_code == 200
    assert predicted.json()["error"], "the model server is down: the answer must say so"


@pytest.mark.slow
def test_oversize_photos_get_the_backends_413_and_huge_bodies_nginx_413(gateway):
    from agrorisk_backend.settings import Settings

    limit = Settings().max_upload_bytes
    over_backend = httpx.post(
        f"{gateway['url']}/v1/predict",
        files={"file": ("big.jpg", _leaf_jpeg() + b"\0" * (limit + 512 * 1024), "image/jpeg")},
        timeout=60,
    )
    assert over_backend.status_code == 413
    assert "application/json" in over_backend.headers["content-type"]  # the backend's own message
    over_gateway = httpx.post(
        f"{gateway['url']}/v1/predict",
        files={"file": ("huge.jpg", b"\0" * (limit + 4 * 1024 * 1024), "image/jpeg")},
        timeout=60,
    )
    assert over_gateway.status_code == 413
    assert "nginx" in over_gateway.text


@pytest.mark.slow
def test_a_photo_goes_through_gradio_behind_the_gateway(gateway, tmp_path):
    from gradio_client import Client, handle_file

    photo = tmp_path / "leaf.jpg"
    photo.write_bytes(_leaf_jpeg())
    client = Client(gateway["url"] + "/", verbose=False)
    outputs = client.predict(handle_file(str(photo)), api_name="/run_compare")
    status = outputs[7]
    assert "YOLO" in status, status  # the backend answered: the local model server is down in this test
    assert "Gemini" in outputs[3]
    requests = gateway["access_log"].read_text()
    assert "/gradio_api/upload" in requests and "/gradio_api/queue/data" in requests


@pytest.mark.slow
def test_websockets_are_upgraded_through_the_gateway(gateway):
    from websockets.sync.client import connect

    with connect(gateway["url"].replace("http://", "ws://") + "/dagster/graphql", open_timeout=10) as socket:
        socket.send("subscribe")
        assert socket.recv(timeout=10) == "echo:subscribe"
