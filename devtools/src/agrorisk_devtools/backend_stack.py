"""A real local stack for tests, demos and `agrorisk-dev bench-backend`: a tiny trained model in a
local registry, Ray Serve serving it, the Gemini stand-in, and the backend — each a real server on a
free loopback port. One Ray Serve per Python process (`shared_ray_serve`)."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from agrorisk_common.ports import free_port
from agrorisk_devtools.smoke_model import train_smoke_model
from agrorisk_storage import ModelRegistry, StorageSettings

RAY_SERVE_SCRIPT = """
import signal, threading
from agrorisk_ray import server
from agrorisk_ray.settings import Settings
from agrorisk_storage import StorageSettings
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
server.start(Settings(), StorageSettings())
print("ready", flush=True)
stop.wait()
server.stop()
"""


class StackError(RuntimeError):
    """A server of the local stack did not come up; the message says which and why."""


def smoke_registry(work_dir: Path, class_names: list[str]) -> StorageSettings:
    """A local registry whose `production` alias is a two-epoch YOLO11 (real training + ONNX export)."""
    storage = StorageSettings(local_root=work_dir / "registry", cache_dir=work_dir / "cache")
    registry = ModelRegistry.from_settings(storage)
    if "production" not in registry.aliases():
        files = train_smoke_model(work_dir / "train", class_names, imgsz=64, epochs=2)  # two: curves
        registry.push(
            files, {"class_names": class_names, "imgsz": 64, "creator": "agrorisk-devtools backend_stack"}
        )
        registry.promote("v1", "production")
    return storage


def storage_env(storage: StorageSettings) -> dict[str, str]:
    return {
        "AGRORISK_STORAGE_LOCAL_ROOT": str(storage.local_root),
        "AGRORISK_STORAGE_CACHE_DIR": str(storage.cache_dir),
    }


def backend_env(
    storage: StorageSettings,
    ray_url: str,
    data_dir: Path,
    gemini_url: str | None = None,
    gemini_key: str | None = None,
) -> dict[str, str]:
    """A backend's environment: the local model on this Ray Serve, and Gemini (one attempt per
    request) on the given server when there is one, else not configured."""
    env = {
        **storage_env(storage),
        "AGRORISK_BACKEND_ENGINE": "ray",
        "AGRORISK_BACKEND_RAY_URL": ray_url,
        "AGRORISK_BACKEND_DATA_DIR": str(data_dir),
        "AGRORISK_GEMINI_MAX_ATTEMPTS": "1",
    }
    if gemini_url:
        env |= {"AGRORISK_GEMINI_BASE_URL": gemini_url, "AGRORISK_GEMINI_API_KEY": gemini_key or ""}
    else:  # empty keys override any GEMINI_API_KEY of the machine
        env |= {"AGRORISK_GEMINI_API_KEY": "", "GEMINI_API_KEY": ""}
    return env


@contextmanager
def server_process(
    args: list[str], env: dict[str, str], health_url: str, name: str, log_path: Path, timeout_s: float = 240
) -> Iterator[subprocess.Popen]:
    """Run a server in its own process group until `health_url` answers 200; stop it on exit."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_healthy(process, health_url, name, log_path, timeout_s)
            yield process
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen, grace_s: float = 30) -> None:
    """SIGTERM, then SIGKILL to the process group the server started (only what we started)."""
    if process.poll() is None:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(grace_s)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _wait_healthy(process: subprocess.Popen, url: str, name: str, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise StackError(f"{name} exited with code {process.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise StackError(f"{name} did not become healthy at {url} within {timeout_s:.0f} s (log: {log_path})")


@contextmanager
def ray_serve(
    storage: StorageSettings, log_path: Path, ingress: str = "haproxy", env: dict[str, str] | None = None
) -> Iterator[str]:
    """Ray Serve (agrorisk_ray) serving the registry's production model; yields its base URL. `env`
    overrides its settings (e.g. AGRORISK_RAY_RELOAD_INTERVAL_S, off here by default)."""
    port = free_port()
    ports = ("METRICS_PORT", "HAPROXY_STATS_PORT", "HAPROXY_METRICS_PORT", "FALLBACK_PROXY_PORT")
    settings = {
        **storage_env(storage),
        **{f"AGRORISK_RAY_{name}": str(free_port()) for name in ports},
        "AGRORISK_RAY_HOST": "127.0.0.1",
        "AGRORISK_RAY_PORT": str(port),
        "AGRORISK_RAY_INGRESS": ingress,
        "AGRORISK_RAY_NUM_REPLICAS": "1",
        "AGRORISK_RAY_NUM_CPUS": "2",
        "AGRORISK_RAY_CONF_THRESHOLD": "0.001",  # a one-epoch model is unsure of everything
        "AGRORISK_RAY_MAX_DETECTIONS": "3",
        "AGRORISK_RAY_RELOAD_INTERVAL_S": "0",
        "RAY_AUTH_MODE": "disabled",
        "PYTHONUNBUFFERED": "1",
    }
    args = [sys.executable, "-c", RAY_SERVE_SCRIPT]
    url = f"http://127.0.0.1:{port}"
    with server_process(args, settings | (env or {}), f"{url}/healthz", "Ray Serve", log_path):
        yield url


@contextmanager
def backend_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`agrorisk-backend serve` on a free port with the given environment; yields its base URL."""
    port = free_port()
    args = [sys.executable, "-m", "agrorisk_backend", "serve", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with server_process(args, env, f"{url}/healthz", "backend", log_path, timeout_s=120):
        yield url


_shared: dict[str, object] = {}


def shared_ray_serve(work_dir: Path, class_names: list[str]) -> tuple[str, StorageSettings]:
    """One Ray Serve with a smoke model for the whole Python process (e.g. a pytest run): started on
    the first call, stopped at exit. Returns its URL and the registry settings."""
    if "ray" not in _shared:
        storage = smoke_registry(work_dir, class_names)
        # Ray's Python proxy here; ray-inference's own tests run behind HAProxy: the suite covers both.
        context = ray_serve(storage, work_dir / "ray-serve.log", ingress="proxy")
        url = context.__enter__()
        atexit.register(context.__exit__, None, None, None)
        _shared["ray"] = (url, storage)
    return _shared["ray"]  # type: ignore[return-value]


@contextmanager
def bench_stack(
    work_dir: Path, class_names: list[str], gemini_key: str = "bench-key"
) -> Iterator[tuple[str, str]]:
    """Ray Serve with a smoke model, the Gemini stand-in and two backends: one asking the stand-in, one
    whose Gemini is unreachable (nothing listens on its port). Yields both backends' URLs."""
    from agrorisk_devtools.gemini_standin import FakeGeminiServer

    storage = smoke_registry(work_dir, class_names)
    with (
        ray_serve(storage, work_dir / "ray-serve.log") as ray_url,
        FakeGeminiServer(api_key=gemini_key) as gemini,
        backend_server(
            backend_env(storage, ray_url, work_dir / "data", gemini.base_url, gemini_key),
            work_dir / "backend.log",
        ) as url,
        backend_server(
            backend_env(
                storage, ray_url, work_dir / "data-down", f"http://127.0.0.1:{free_port()}", gemini_key
            ),
            work_dir / "backend-down.log",
        ) as down_url,
    ):
        yield url, down_url
