"""Start the Ray Serve application locally or on an existing Ray cluster."""

from __future__ import annotations

import logging
import math
import os

import ray
from ray import serve

from agrorisk_ray.app import build_app
from agrorisk_ray.settings import Settings
from agrorisk_storage import StorageSettings

log = logging.getLogger(__name__)


def ingress_environment(settings: Settings) -> dict[str, str]:
    """Ray Serve's switches for the chosen ingress. Ray reads them when its processes start.

    With HAProxy, Ray Serve's direct ingress gives every replica its own HTTP port (from 30000 up)
    and a C HAProxy on `settings.port` balances over them: no Python proxy on the request path.
    """
    if settings.ingress == "proxy":
        return {"RAY_SERVE_ENABLE_HA_PROXY": "0"}
    return {
        "RAY_SERVE_ENABLE_HA_PROXY": "1",
        "RAY_SERVE_HAPROXY_STATS_PORT": str(settings.haproxy_stats_port),
        "RAY_SERVE_HAPROXY_METRICS_PORT": str(settings.haproxy_metrics_port),
        "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT": str(settings.fallback_proxy_port),
        "RAY_SERVE_HAPROXY_TIMEOUT_SERVER_S": str(math.ceil(settings.request_timeout_s) + 5),
        # A stopping replica stays open this long for HAProxy (on this node, reloaded at once) to
        # drop it; HAProxy retries a refused connection on another replica. Ray's 30 s default is
        # for external load balancers, and made every stop take 30 s.
        "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "2",
    }


def start(settings: Settings, storage: StorageSettings) -> str:
    """Connect to (or start) Ray, start Serve's HTTP ingress and deploy the app; returns its base URL.

    With `settings.address` (e.g. `ray://head:10001`) the app runs on that cluster and scales
    across its nodes, behind the ingress that cluster was started with; otherwise a local Ray
    instance is started with `settings.ingress`.
    """
    if not settings.address:
        # A local instance on loopback: Ray 2.60's token auth only gets in the way there.
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if not ray.is_initialized():
        if settings.address:
            ray.init(address=settings.address)
        else:
            os.environ.update(ingress_environment(settings))
            # Serve kills a proxy that is not ready in 5 s and serve.run then fails: on a busy
            # 2-core machine (CI, training beside it) it takes longer. Wait longer by default.
            os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "60")
            os.environ.setdefault("RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S", "30")
            ray.init(
                num_cpus=settings.num_cpus,
                include_dashboard=bool(settings.dashboard_port),
                dashboard_host=settings.host,
                dashboard_port=settings.dashboard_port or None,
                _metrics_export_port=settings.metrics_port,
            )
    else:
        log.warning("Ray is already running in this process: it keeps the ingress it was started with")
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
