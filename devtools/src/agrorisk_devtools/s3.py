"""A local S3 server (moto's) on a free loopback port: the object store's stand-in in tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from agrorisk_common.ports import free_port


@contextmanager
def moto_s3() -> Iterator[str]:
    """Start moto's threaded S3 server; yields its `host:port`; stops it on exit. Moto keeps its
    buckets per process, not per server, so each server starts with them emptied (moto's reset API):
    one test's objects never show up in the next test's bucket."""
    import httpx
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        httpx.post(f"http://127.0.0.1:{port}/moto-api/reset", timeout=10).raise_for_status()
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()
