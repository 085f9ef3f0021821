"""Drift for Prometheus: the last drift verdict pushed to a Pushgateway, which Prometheus scrapes
(the alert `AgroRiskDriftDetected` and Grafana's drift panel read these series)."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from agrorisk_pipeline.drift import DriftResult

log = logging.getLogger(__name__)
JOB = "agrorisk-drift"


def push_drift(url: str, result: DriftResult, timeout_s: float = 5.0) -> bool:
    """Push drift share and verdict; a down Pushgateway is a warning, never a failed asset."""
    registry = CollectorRegistry()
    Gauge("agrorisk_drift_share", "Share of drifted columns in the last drift report", registry=registry).set(
        result.drifted_share
    )
    Gauge(
        "agrorisk_drift_detected", "1 when the last drift report found dataset drift", registry=registry
    ).set(float(result.dataset_drift))
    try:
        push_to_gateway(url, job=JOB, registry=registry, timeout=timeout_s)
    except OSError as exc:
        log.warning("could not push drift to the Pushgateway at %s: %s", url, exc)
        return False
    return True
