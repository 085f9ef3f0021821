"""`make run` (scripts/run_local.py): the services as local processes, started, used and stopped for real."""

from __future__ import annotations

import importlib.util
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from stack_support import REPO

from agrorisk_common.ports import free_port

SCRIPT = REPO / "scripts" / "run_local.py"
_spec = importlib.util.spec_from_file_location("agrorisk_run_local", SCRIPT)
run_local = sys.modules.setdefault("agrorisk_run_local", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(run_local)


def _env(tmp_path: Path, services: str, registry: Path | None = None) -> dict[str, str]:
    """A private run: its own ports, run folder, registry and data, nothing from the caller's AGRORISK_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGRORISK_", "GEMINI_", "GOOGLE_"))}
    env.update(
        AGRORISK_RUN_SERVICES=services,
        AGRORISK_RUN_DIR=str(tmp_path / "run"),
        AGRORISK_RUN_STOP_TIMEOUT_S="30",
        AGRORISK_STORAGE_LOCAL_ROOT=str(registry or tmp_path / "registry"),
        AGRORISK_STORAGE_CACHE_DIR=str(tmp_path / "cache"),
        AGRORISK_BACKEND_DATA_DIR=str(tmp_path / "backend"),
        AGRORISK_PIPELINE_WORK_DIR=str(tmp_path / "pipeline"),
        AGRORISK_PIPELINE_PREDICTION_LOG_DIR=str(tmp_path / "backend" / "prediction-log"),
    )
    env["AGRORISK_TRAIN_OPTUNA_STORAGE"] = f"sqlite:///{tmp_path / 'optuna.db'}"
    for name in (
        "RAY",
        "BACKEND",
        "WEB",
        "DAGSTER",
        "TRITON",
        "RAY_METRICS",
        "RAY_DASHBOARD",
        "LABELSTUDIO",
        "OPTUNA",
        "PUSHGATEWAY",
        "PROMETHEUS",
    ):
        env[f"AGRORISK_RUN_{name}_PORT"] = str(free_port())
    for name in ("HAPROXY_STATS", "HAPROXY_METRICS", "FALLBACK_PROXY"):
        env[f"AGRORISK_RAY_{name}_PORT"] = str(free_port())
    return env


def _script(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _run_processes(run_id: str) -> list[int]:
    return run_local._marked_pids(run_id)


def test_bad_settings_are_one_readable_line(tmp_path):
    for variable, value, expected in (
        ("AGRORISK_RUN_SERVICES", "ray,frontend", "unknown frontend"),
        ("AGRORISK_RUN_WEB_PORT", "seven", "AGRORISK_RUN_WEB_PORT must be a number"),
        ("AGRORISK_RUN_BACKEND_PORT", "70000", "AGRORISK_RUN_BACKEND_PORT must be 1..65535"),
    ):
        env = _env(tmp_path, "web")
        env[variable] = value
        result = _script("start", env=env)
        assert result.returncode == 1
        assert result.stderr.strip().startswith("error:") and expected in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_busy_port_is_named_before_anything_starts(tmp_path):
    env = _env(tmp_path, "web")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        env["AGRORISK_RUN_WEB_PORT"] = str(sock.getsockname()[1])
        result = _script("start", env=env)
    assert result.returncode == 1 and f"web port {env['AGRORISK_RUN_WEB_PORT']}" in result.stderr
    assert not list((tmp_path / "run").glob("*.pid"))


def test_stop_removes_stale_pid_files_and_never_kills_a_stranger(tmp_path):
    env = _env(tmp_path, "web")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        (run_dir / "web.pid").write_text(f"{stranger.pid}\nsome-other-run\n")  # a reused pid
        dead = subprocess.Popen(["true"])
        dead.wait()
        (run_dir / "backend.pid").write_text(f"{dead.pid}\nsome-other-run\n")
        result = _script("stop", env=env)
        assert result.returncode == 0
        assert "no local AgroRisk services are running" in result.stdout
        assert stranger.poll() is None, "stop killed a process it did not start"
        assert not list(run_dir.glob("*.pid"))
    finally:
        stranger.kill()
        stranger.wait()


@pytest.mark.slow
def test_without_a_model_it_says_run_make_demo_and_ctrl_c_stops_everything(tmp_path):
    env = _env(tmp_path, "ray,web")
    launcher = subprocess.Popen(
        [sys.executable, str(SCRIPT), "start"], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = launcher.stdout.readline()
        assert line, f"the launcher ended early: {''.join(lines)}"
        lines.append(line)
        if "Ctrl-C" in line:
            break
    output = "".join(lines)
    assert "No production model" in output and "make demo" in output
    assert "started ray" not in output  # nothing to serve: Ray Serve is not started
    assert f"http://127.0.0.1:{env['AGRORISK_RUN_WEB_PORT']}/" in output
    pid, run_id = run_local.read_pid_file(tmp_path / "run" / "web.pid")
    assert run_local._alive(pid) and _run_processes(run_id)

    launcher.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends to the foreground launcher
    rest, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0, rest
    assert "stopped web" in rest
    assert not run_local._alive(pid) and not _run_processes(run_id)
    assert not list((tmp_path / "run").glob("*.pid"))


@pytest.fixture(scope="module")
def smoke_registry(tmp_path_factory) -> Path:
    """A local registry whose production alias is a real (one-epoch) YOLO11 exported to ONNX."""
    registry = tmp_path_factory.mktemp("run-local-registry")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGRORISK_")}
    env.update(
        AGRORISK_STORAGE_LOCAL_ROOT=str(registry / "registry"), AGRORISK_STORAGE_CACHE_DIR=str(registry / "c")
    )
    subprocess.run(
        [str(Path(sys.executable).parent / "agrorisk-dev"), "smoke-model", "--classes", "2", "--imgsz", "64"],
        env=env, cwd=registry, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return registry / "registry"


def test_a_busy_haproxy_port_of_ray_is_named_before_anything_starts(tmp_path, smoke_registry):
    env = _env(tmp_path, "ray,web", registry=smoke_registry)
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        env["AGRORISK_RAY_HAPROXY_STATS_PORT"] = str(sock.getsockname()[1])
        result = _script("start", env=env)
    assert result.returncode == 1
    assert f"Ray's HAProxy port {env['AGRORISK_RAY_HAPROXY_STATS_PORT']}" in result.stderr
    assert "AGRORISK_RAY_HAPROXY_STATS_PORT" in result.stderr
    assert not list((tmp_path / "run").glob("*.pid"))


# The page title each UI of the Services tab answers with (its own page, not an error page).
SERVICE_TITLES = {
    "gradio": "AgroRisk",
    "swagger": "Swagger UI",
    "dagster": "Dagster",
    "label_studio": "Label Studio",
    "optuna_dashboard": "Optuna Dashboard",
    "prometheus": "Prometheus",
    "ray_dashboard": "Ray Dashboard",
}


def _scraped_jobs(prometheus_url: str, jobs: set[str], timeout_s: float = 90) -> dict[str, str]:
    """Prometheus' `up` per job once every job has been scraped (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": "up"}).json()
        up = {r["metric"]["job"]: r["value"][1] for r in answer["data"]["result"]}
        if jobs <= {job for job, value in up.items() if value == "1"} or time.monotonic() > deadline:
            return up
        time.sleep(2)


def _open_every_service_link(web_url: str) -> dict[str, str]:
    """In Chromium: Gradio's Services tab, then every link in it; name -> the page title it opened."""
    from playwright.sync_api import expect, sync_playwright

    titles = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(web_url)
        page.locator("#tab-services-button").click()
        expect(page.locator("#services-links li[data-state=up]").first).to_be_visible(timeout=30_000)
        states = {
            a.get_attribute("data-service"): li.get_attribute("data-state")
            for li in page.locator("#services-links li").all()
            for a in li.locator("a").all()
        }
        assert states and set(states.values()) == {"up"}, states
        for link in page.locator("#services-links a").all():
            name, url = link.get_attribute("data-service"), link.get_attribute("href")
            tab = browser.new_page()
            response = tab.goto(url)
            assert response is not None and response.status == 200, (name, url, response and response.status)
            expect(tab).to_have_title(re.compile(re.escape(SERVICE_TITLES[name])), timeout=30_000)
            titles[name] = tab.title()
            tab.close()
        browser.close()
    return titles


@pytest.mark.slow
def test_make_run_serves_a_photo_through_gradio_and_stop_ends_every_process(tmp_path, smoke_registry):
    from gradio_client import Client, handle_file

    from agrorisk_common.procedural import draw_leaf

    services = ["ray", "backend", "web", "dagster", "optuna"]
    # `make test-deps` installs both; CI always has them
    optional = {"labelstudio": run_local.label_studio_bin(), "pushgateway": run_local.PUSHGATEWAY,
                "prometheus": run_local.PROMETHEUS}  # fmt: skip
    services += [name for name, binary in optional.items() if binary.exists()]
    env = _env(tmp_path, ",".join(services), registry=smoke_registry)
    started = _script("start", "--detach", env=env, timeout=600)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        for name in ("Gradio", "Swagger", "Dagster", "Ray Serve", "Optuna dashboard", "Admin key"):
            assert name in started.stdout
        status = _script("status", env=env)
        assert status.returncode == 0 and status.stdout.count("healthy (pid") == len(services), status.stdout

        key_file = tmp_path / "admin-key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        backend = f"http://127.0.0.1:{env['AGRORISK_RUN_BACKEND_PORT']}"
        assert httpx.post(f"{backend}/v1/admin/promote", json={}).status_code == 401
        admin = httpx.post(
            f"{backend}/v1/admin/promote", json={}, headers={"X-API-Key": key_file.read_text().strip()}
        )
        assert admin.status_code == 422, admin.text  # past the key check: the empty body is refused

        web_url = f"http://127.0.0.1:{env['AGRORISK_RUN_WEB_PORT']}/"
        titles = _open_every_service_link(web_url)
        expected = {"gradio", "swagger", "dagster", "optuna_dashboard", "ray_dashboard"}
        expected |= {"label_studio"} if "labelstudio" in services else set()
        expected |= {"prometheus"} if "prometheus" in services else set()
        assert set(titles) == expected, titles
        if "prometheus" in services:  # one series from each target: its `up` is 1
            jobs = {"backend", "ray", "ray-haproxy", "pushgateway"}
            up = _scraped_jobs(f"http://127.0.0.1:{env['AGRORISK_RUN_PROMETHEUS_PORT']}", jobs)
            assert {job for job, value in up.items() if value == "1"} >= jobs, up

        image, _ = draw_leaf(0, random.Random(3), size=320)
        image.save(tmp_path / "leaf.jpg")
        client = Client(web_url, verbose=False)
        outputs = client.predict(handle_file(str(tmp_path / "leaf.jpg")), api_name="/run_compare")
        local_summary = outputs[2]
        assert "`v1`" in local_summary, local_summary  # the local model (Ray Serve) answered with v1
        assert list((tmp_path / "backend" / "prediction-log").glob("*.jsonl"))
    finally:
        run_id = (run_local.read_pid_file(tmp_path / "run" / "ray.pid") or (0, ""))[1]
        stopped = _script("stop", env=env, timeout=300)
    assert stopped.returncode == 0
    assert {f"stopped {name}" for name in services} <= {
        " ".join(line.split()[:2]) for line in stopped.stdout.splitlines()
    }
    assert run_id and not _run_processes(run_id), "processes of the run survived `stop`"


FLAKY_SERVER = """
import http.server, pathlib, sys
marker = pathlib.Path(sys.argv[2])
if not marker.exists():
    marker.write_text("failed once")
    sys.exit("node timed out during startup")  # what Ray's node start does on a busy machine
handler = type("Ok", (http.server.BaseHTTPRequestHandler,), {"do_GET": lambda self: (self.send_response(200), self.end_headers())})
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""


def test_a_service_that_exits_before_it_is_healthy_is_started_again(tmp_path):
    port = free_port()
    config = run_local.RunConfig.from_env(_env(tmp_path, "web") | {"AGRORISK_RUN_STOP_TIMEOUT_S": "5"})
    service = run_local.Service(
        "web", [sys.executable, "-c", FLAKY_SERVER, str(port), str(tmp_path / "failed")],
        f"http://127.0.0.1:{port}/", {"flaky": f"http://127.0.0.1:{port}/"},
    )  # fmt: skip
    (config.run_dir / "logs").mkdir(parents=True)
    env = run_local.base_env("test-run")
    said = []
    run_local._launch(service, config, env, said.append)
    try:
        run_local._start_until_healthy(service, config, env, said.append)
        assert run_local.healthy(service.health_url)
        assert any(
            "exited before it was healthy (attempt 1/3); starting it again" in line for line in said
        ), said
        assert sum(line.startswith("started web") for line in said) == 2
        assert "node timed out during startup" in service.log_file(config.run_dir).read_text()
    finally:
        run_local.stop(config, say=said.append)
    assert not run_local._marked_pids("test-run")


def test_a_service_that_never_comes_up_fails_after_the_configured_attempts(tmp_path):
    env_vars = _env(tmp_path, "web") | {
        "AGRORISK_RUN_START_ATTEMPTS": "2",
        "AGRORISK_RUN_STOP_TIMEOUT_S": "5",
    }
    config = run_local.RunConfig.from_env(env_vars)
    service = run_local.Service(
        "web", [sys.executable, "-c", "raise SystemExit('no luck')"], "http://127.0.0.1:9/", {}
    )
    (config.run_dir / "logs").mkdir(parents=True)
    env = run_local.base_env("test-run-2")
    run_local._launch(service, config, env, lambda _: None)
    with pytest.raises(
        run_local.RunError, match=r"(?s)web exited before it was healthy.*no luck.*after 2 attempts"
    ):
        run_local._start_until_healthy(service, config, env, lambda _: None)


@pytest.mark.slow
def test_a_service_that_dies_while_running_is_restarted(tmp_path):
    env = _env(tmp_path, "web")
    launcher = subprocess.Popen(
        [sys.executable, "-u", str(SCRIPT), "start"], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        lines = []
        while not any("Ctrl-C" in line for line in lines):
            line = launcher.stdout.readline()
            assert line, f"the launcher ended early: {''.join(lines)}"
            lines.append(line)
        first, _ = run_local.read_pid_file(tmp_path / "run" / "web.pid")
        os.killpg(first, signal.SIGKILL)  # Gradio crashes
        crashed_at = len(lines)
        while not any(line.startswith("healthy web") for line in lines[crashed_at:]):
            line = launcher.stdout.readline()
            assert line, f"the launcher ended early: {''.join(lines)}"
            lines.append(line)
        output = "".join(lines)
        assert "web stopped unexpectedly; restart 1/5" in output
        second, _ = run_local.read_pid_file(tmp_path / "run" / "web.pid")
        assert second != first and run_local._alive(second)
        assert run_local.healthy(f"http://127.0.0.1:{env['AGRORISK_RUN_WEB_PORT']}/healthz")

        restarted = _script("restart", "web", env=env, timeout=300)  # `make restart SERVICE=web`
        assert restarted.returncode == 0 and "healthy web" in restarted.stdout, (
            restarted.stdout + restarted.stderr
        )
        third, _ = run_local.read_pid_file(tmp_path / "run" / "web.pid")
        assert third != second and run_local._alive(third) and not run_local._alive(second)
        unknown = _script("restart", "frontend", env=env)
        assert unknown.returncode != 0 and "frontend" in unknown.stderr
    finally:
        launcher.send_signal(signal.SIGINT)
        rest, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0, rest
    assert "restart 2/5" not in rest, "the supervisor restarted what `restart` had restarted"
    assert not list((tmp_path / "run").glob("*.pid"))
