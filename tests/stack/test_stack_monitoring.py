"""The monitoring of the stack: Prometheus' rules and config pass promtool, every target is a compose
service that listens there, and every series the alerts and the Grafana dashboard read is exported."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml
from stack_support import REPO
from test_stack_compose import LISTENS

from agrorisk_backend.services.metrics import BackendMetrics

PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "agrorisk.json"
# Pushed to the Pushgateway by the Dagster drift asset (dagster-pipeline).
PUSHED = {"agrorisk_drift_share", "agrorisk_drift_detected"}


def _series_read() -> set[str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    expressions += [
        t["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for t in panel["targets"]
    ]
    return {name for expr in expressions for name in re.findall(r"\bagrorisk_\w+", expr)}


def test_prometheus_config_and_alert_rules_pass_promtool(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: `make test-deps` installs Debian's prometheus")
    (tmp_path / "alerts.yml").write_text((PROMETHEUS / "alerts.yml").read_text())
    config = (PROMETHEUS / "prometheus.yml").read_text().replace("/etc/prometheus/alerts.yml", "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(config)
    checked = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True,
                             text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "5 rules found" in checked.stdout


def test_every_scrape_target_is_a_service_that_listens_there(compose):
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = [t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    assert {t.split(":")[0] for t in targets} >= {"backend", "ray", "triton", "pushgateway"}
    for target in targets:
        host, port = target.split(":")
        assert host in compose["services"], target
        assert int(port) in LISTENS[host], target


def test_every_series_the_alerts_and_dashboard_read_is_exported():
    exported = {metric.name for metric in BackendMetrics().registry.collect()}
    pipeline = "\n".join(p.read_text() for p in (REPO / "dagster-pipeline" / "src").rglob("*.py"))
    pushed = {name for name in PUSHED if f'"{name}"' in pipeline}
    base = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in _series_read()}
    missing = base - exported - pushed
    assert not missing, f"read by alerts/dashboard but exported by nothing: {sorted(missing)}"
