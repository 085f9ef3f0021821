"""The drift verdict reaches Prometheus through a real Pushgateway (Debian's prometheus-pushgateway)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from agrorisk_common.ports import free_port
from agrorisk_pipeline.drift import DriftResult
from agrorisk_pipeline.metrics_push import push_drift

PUSHGATEWAY = Path("/usr/bin/prometheus-pushgateway")


def _result(share: float, drift: bool) -> DriftResult:
    return DriftResult(status="drift" if drift else "ok", dataset_drift=drift, drifted_share=share,
                       drifted_count=int(share * 10), drift_share=0.3, n_reference=100, n_current=100,
                       columns=[], seconds=0.1)  # fmt: skip


def test_drift_verdict_is_pushed_and_a_down_gateway_is_only_a_warning(caplog):
    if not PUSHGATEWAY.exists():
        pytest.fail(f"{PUSHGATEWAY} is missing: `make test-deps` installs prometheus-pushgateway")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([str(PUSHGATEWAY), f"--web.listen-address=127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the Pushgateway did not start"
                time.sleep(0.2)
        assert push_drift(url, _result(0.4, True))
        metrics = httpx.get(f"{url}/metrics").text
        assert 'agrorisk_drift_share{instance="",job="agrorisk-drift"} 0.4' in metrics
        assert 'agrorisk_drift_detected{instance="",job="agrorisk-drift"} 1' in metrics
        assert push_drift(url, _result(0.0, False))  # the next report replaces the verdict
        assert (
            'agrorisk_drift_detected{instance="",job="agrorisk-drift"} 0' in httpx.get(f"{url}/metrics").text
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert not push_drift(url, _result(0.4, True), timeout_s=1)
    assert "could not push drift" in caplog.text
