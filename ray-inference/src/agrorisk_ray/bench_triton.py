"""The benchmark's Triton leg, as a deployment sees it: `agrorisk-triton serve` in its own process
group on free loopback ports, queried over HTTP by the serving library's `TritonDetectorClient`.

The Triton package is started as a command, never imported: a service does not import a service.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import tritonclient.http as triton_http
from pydantic import BaseModel, SecretStr

from agrorisk_common.ports import free_port
from agrorisk_serving.triton_tensors import MODEL_NAME


class TritonUnavailable(RuntimeError):
    """The Triton server could not be found, started or reached."""


def triton_executable() -> Path:
    """`agrorisk-triton` from this interpreter's bin folder (the same venv), else from PATH."""
    beside = Path(sys.executable).parent / "agrorisk-triton"
    found = beside if beside.is_file() else shutil.which("agrorisk-triton")
    if not found:
        raise TritonUnavailable(
            "the Triton leg needs the agrorisk-triton command (install agrorisk-triton-inference) "
            "or pass --no-triton"
        )
    return Path(found)


def settings_env(prefix: str, settings: BaseModel) -> dict[str, str]:
    """Settings as the environment variables that rebuild them in another process."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, bool):
            value = str(value).lower()
        env[f"{prefix}{name.upper()}"] = str(value)
    return env


def triton_environment(ray_settings) -> tuple[dict[str, str], int]:
    """AGRORISK_TRITON_* for `agrorisk-triton serve` on free loopback ports, with the Ray settings'
    alias, thresholds and ONNX Runtime threads and no hot reload; and its HTTP port."""
    http_port = free_port()
    env = {
        "AGRORISK_TRITON_HOST": "127.0.0.1",
        "AGRORISK_TRITON_HTTP_PORT": str(http_port),
        "AGRORISK_TRITON_GRPC_PORT": str(free_port()),
        "AGRORISK_TRITON_METRICS_PORT": str(free_port()),
        "AGRORISK_TRITON_RELOAD_INTERVAL_S": "0",
        "AGRORISK_TRITON_MODEL_ALIAS": ray_settings.model_alias,
        "AGRORISK_TRITON_CONF_THRESHOLD": str(ray_settings.conf_threshold),
        "AGRORISK_TRITON_IOU_THRESHOLD": str(ray_settings.iou_threshold),
        "AGRORISK_TRITON_MAX_DETECTIONS": str(ray_settings.max_detections),
        "AGRORISK_TRITON_INTRA_OP_THREADS": str(ray_settings.intra_op_threads),
    }
    return env, http_port


class TritonProcess:
    """`agrorisk-triton serve` as a child process in a new process group; `stop()` ends the whole group.

    `env` is added to this process' environment (so AGRORISK_TRITON_* set by the user still apply).
    """

    def __init__(self, env: Mapping[str, str], http_port: int, startup_timeout_s: float = 300.0):
        self.env, self.http_port, self.startup_timeout_s = dict(env), http_port, startup_timeout_s
        self.url = f"127.0.0.1:{http_port}"
        self.process: subprocess.Popen | None = None
        descriptor, log_path = tempfile.mkstemp(prefix="agrorisk-triton-", suffix=".log")
        os.close(descriptor)
        self.log_path = Path(log_path)

    def start(self) -> str:
        """Start the server and wait until `agrorisk_detector` is ready; returns Triton's HTTP host:port."""
        with self.log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [str(triton_executable()), "serve"],
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        client = triton_http.InferenceServerClient(self.url, connection_timeout=2.0, network_timeout=5.0)
        deadline = time.monotonic() + self.startup_timeout_s
        try:
            while not self._ready(client):
                if self.process.poll() is not None:
                    raise TritonUnavailable(
                        f"agrorisk-triton serve exited with code {self.process.returncode}: {self.log_tail()}"
                    )
                if time.monotonic() > deadline:
                    raise TritonUnavailable(
                        f"Triton was not ready after {self.startup_timeout_s:.0f} s: {self.log_tail()}"
                    )
                time.sleep(0.5)
        finally:
            client.close()
        return self.url

    def _ready(self, client) -> bool:
        try:
            return client.is_server_ready() and client.is_model_ready(MODEL_NAME)
        except Exception:  # connection refused while it starts
            return False

    def log_tail(self, chars: int = 600) -> str:
        text = self.log_path.read_text(errors="replace").strip()
        return text[-chars:].replace("\n", " | ") or "(no output)"

    def stop(self, grace_s: float = 30.0) -> None:
        """SIGINT the group (the server stops its tritonserver), then SIGTERM and SIGKILL what is left."""
        process = self.process
        if process is not None:
            for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                if not _group_alive(process):
                    break
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait_s
                while _group_alive(process) and time.monotonic() < deadline:
                    time.sleep(0.2)
            self.process = None
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> TritonProcess:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _group_alive(process: subprocess.Popen) -> bool:
    """Whether any process of the group `process` leads is still running."""
    process.poll()  # reap the leader so its zombie does not count
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True
