"""Start the Ray Serve application locally or on an existing Ray cluster."""

from __future__ import annotations

import os

import ray
from ray import serve

from agrorisk_ray.app import build_app
from agrorisk_ray.settings import Settings
from agrorisk_storage import StorageSettings


def start(settings: Settings, storage: StorageSettings) -> str:
    """Connect to (or start) Ray, start Serve's HTTP proxy and deploy the app; returns its base URL.

    With `settings.address` (e.g. `ray://head:10001`) the app runs on that cluster and scales
    across its nodes; otherwise a local Ray instance is started.
    """
    if not settings.address:
        # A local instance on loopback: Ray 2.60's token auth only gets in the way there.
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if not ray.is_initialized():
        if settings.address:
            ray.init(address=settings.address)
        else:
            ray.init(
                num_cpus=settings.num_cpus,
                include_dashboard=False,
                _metrics_export_port=settings.metrics_port,
            )
    serve.start(
        http_options={
            "host": settings.host,
            "port": settings.port,
            "request_timeout_s": settings.request_timeout_s + 5,
        }
    )
    serve.run(build_app(settings, storage), name=settings.app_name, route_prefix="/")
    return f"http://{settings.host}:{settings.port}"


def stop() -> None:
    """Shut Serve and this process' Ray connection down."""
    serve.shutdown()
    ray.shutdown()
