"""Fixtures of the stack tests; helpers live in stack_support.py (importable from these tests)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from stack_support import NGINX, load_compose, loopback_values, wait_for, write_nginx_prefix  # noqa: E402

from agrorisk_common.ports import free_port


@pytest.fixture(scope="session")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="session")
def start_nginx(tmp_path_factory) -> Iterator[Callable[..., tuple[str, Path]]]:
    """Start Debian's nginx with the gateway on loopback (a free port unless given);
    returns its base URL and its prefix folder (access.log, error.log)."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: `make test-deps` installs it (apt-get install nginx)")
    processes: list[subprocess.Popen] = []

    def start(upstreams: Mapping[str, str], port: int | None = None) -> tuple[str, Path]:
        port = port or free_port()
        prefix = tmp_path_factory.mktemp("nginx")
        config = write_nginx_prefix(prefix, loopback_values(port, upstreams))
        process = subprocess.Popen([NGINX, "-e", "stderr", "-p", str(prefix), "-c", str(config)])
        processes.append(process)
        wait_for(f"http://127.0.0.1:{port}/gateway/healthz", 20, process)
        return f"http://127.0.0.1:{port}", prefix

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
