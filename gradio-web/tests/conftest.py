"""A real stack behind the UI: Ray Serve (one-epoch YOLO11), the fake Gemini server, the backend and
`agrorisk-web serve`, each its own server on loopback; and headless Debian chromium via playwright."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agrorisk_common.catalog import load_catalog
from agrorisk_common.ports import free_port
from agrorisk_devtools.backend_stack import backend_env, backend_server, server_process, shared_ray_serve
from agrorisk_devtools.gemini_standin import FakeGeminiServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
GEMINI_KEY = "web-test-gemini-key"


@pytest.fixture(scope="session")
def ray_stack(tmp_path_factory):
    return shared_ray_serve(tmp_path_factory.mktemp("web-ray"), [r.id for r in load_catalog()][:2])


@pytest.fixture(scope="session")
def fake_gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer(api_key=GEMINI_KEY) as server:
        yield server


def _backend(ray_stack, tmp_path_factory, gemini_url: str | None = None) -> Iterator[str]:
    ray_url, storage = ray_stack
    work = tmp_path_factory.mktemp("web-backend")
    env = backend_env(storage, ray_url, work / "data", gemini_url, GEMINI_KEY)
    with backend_server(env, work / "backend.log") as url:
        yield url


@pytest.fixture(scope="session")
def backend_url(ray_stack, fake_gemini, tmp_path_factory) -> Iterator[str]:
    yield from _backend(ray_stack, tmp_path_factory, fake_gemini.base_url)


@pytest.fixture(scope="session")
def backend_without_gemini_url(ray_stack, tmp_path_factory) -> Iterator[str]:
    yield from _backend(ray_stack, tmp_path_factory)


def _web(backend: str, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    work = tmp_path_factory.mktemp("web")
    args = [
        sys.executable,
        "-m",
        "agrorisk_web",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-url",
        backend,
    ]
    env = {"GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(work / "gradio-tmp")}
    url = f"http://127.0.0.1:{port}"
    with server_process(args, env, f"{url}/healthz", "agrorisk-web", work / "web.log", timeout_s=120):
        yield url


@pytest.fixture(scope="session")
def web_url(backend_url, tmp_path_factory) -> Iterator[str]:
    yield from _web(backend_url, tmp_path_factory)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module: a sync Playwright session keeps an event loop running in this
    thread, so it must not outlive the browser tests."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="uk-UA")
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def web_factory(tmp_path_factory):
    """Start extra UIs against other backends (a down one, one without Gemini) for the session."""
    stacks = []

    def start(backend: str) -> str:
        generator = _web(backend, tmp_path_factory)
        stacks.append(generator)
        return next(generator)

    yield start
    for generator in stacks:
        generator.close()
