"""`make demo` end to end, headless and tiny: drawn leaves -> labels -> dataset version -> YOLO11 ->
ONNX -> registry (production) -> Ray Serve + backend; one photo through `POST /v1/compare` with Gemini
played by the local fake Gemini REST server. Everything lives in a temp folder on free ports, and every
process the demo started is stopped at the end, also when a test fails."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agrorisk_common.catalog import load_catalog
from agrorisk_common.detection import Prediction
from agrorisk_common.ports import free_port
from agrorisk_common.procedural import draw_leaf
from agrorisk_gemini.testing import FakeGeminiServer
from agrorisk_storage import ModelRegistry, StorageSettings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "scripts" / "demo.py"
RUN_LOCAL = REPO / "scripts" / "run_local.py"
CROP = "potato"
GEMINI_KEY = "e2e-test-key"
TINY = ["--headless", "--source", "procedural", "--crop", CROP, "--images-per-class", "5", "--epochs", "2",
        "--imgsz", "64", "--batch", "8"]  # fmt: skip


@pytest.fixture(scope="module")
def fake_gemini():
    with FakeGeminiServer(api_key=GEMINI_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory, fake_gemini) -> dict[str, str]:
    """A private world: registry, data, runs and services under a temp folder, free loopback ports,
    W&B offline, Gemini = the fake server. Nothing inherited from the caller's AGRORISK_*/Gemini vars."""
    root = tmp_path_factory.mktemp("e2e-demo")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AGRORISK_", "GEMINI_", "GOOGLE_", "WANDB_"))
    }
    env.update(
        AGRORISK_DEMO_WORK_DIR=str(root / "demo"),
        AGRORISK_STORAGE_LOCAL_ROOT=str(root / "registry"),
        AGRORISK_STORAGE_CACHE_DIR=str(root / "cache"),
        AGRORISK_TRAIN_CONFIG_DIR=str(root / "ultralytics"),
        AGRORISK_TRAIN_WORKERS="0",
        AGRORISK_RUN_DIR=str(root / "run"),
        AGRORISK_BACKEND_DATA_DIR=str(root / "backend"),
        # A 2-epoch model is unsure of everything: keep its low-confidence boxes so the contract shows.
        AGRORISK_RAY_CONF_THRESHOLD="0.001",
        AGRORISK_RAY_MAX_DETECTIONS="3",
        AGRORISK_GEMINI_API_KEY=GEMINI_KEY,
        AGRORISK_GEMINI_BASE_URL=fake_gemini.base_url,
        AGRORISK_GEMINI_MAX_ATTEMPTS="1",
        WANDB_MODE="offline",
    )
    for service in ("RAY", "BACKEND", "WEB", "DAGSTER", "TRITON", "RAY_METRICS"):
        env[f"AGRORISK_RUN_{service}_PORT"] = str(free_port())
    for name in ("HAPROXY_STATS", "HAPROXY_METRICS", "FALLBACK_PROXY"):
        env[f"AGRORISK_RAY_{name}_PORT"] = str(free_port())
    return env


def run_demo(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    """scripts/demo.py in its own process group, killed with everything under it past the timeout."""
    process = subprocess.Popen(
        [sys.executable, str(DEMO), *TINY, *extra],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=420)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        pytest.fail(f"the demo did not finish in 420 s:\n{out[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, "")


def started_processes(run_dir: Path) -> dict[str, tuple[int, str]]:
    """service -> (pid, run id) from the pid files scripts/run_local.py writes."""
    found = {}
    for pid_file in run_dir.glob("*.pid"):
        pid, run_id = pid_file.read_text().split()[:2]
        found[pid_file.stem] = (int(pid), run_id)
    return found


def processes_of_run(run_id: str) -> list[int]:
    """Live processes carrying the run's marker (Ray's workers included), from /proc."""
    needle = f"AGRORISK_RUN_ID={run_id}".encode()
    alive = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and needle in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(") ", 1)[1].split()[0]
                if state != "Z":
                    alive.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return alive


def stop_services(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RUN_LOCAL), "stop"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def demo(demo_env):
    """The demo, run once for the module; its services are stopped afterwards whatever happened."""
    try:
        result = run_demo(demo_env)
        summary_path = Path(demo_env["AGRORISK_DEMO_WORK_DIR"]) / "demo-summary.json"
        assert result.returncode == 0, result.stdout[-4000:]
        yield result, json.loads(summary_path.read_text())
    finally:
        stop_services(demo_env)


def leaf_jpeg(risk_index: int) -> bytes:
    image, _ = draw_leaf(risk_index, random.Random(1234), size=96)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def test_demo_trains_registers_promotes_and_serves(demo, demo_env):
    result, summary = demo
    crop_risks = [r.id for r in load_catalog().by_crop(CROP)]
    assert "procedurally drawn leaves" in result.stdout  # offline: it says where the photos came from
    assert "open http://127.0.0.1:" in result.stdout
    assert summary["source"] == "procedural" and summary["classes"] == crop_risks
    assert summary["images"]["train"] > 0 and summary["images"]["val"] >= len(crop_risks)

    storage = StorageSettings(
        local_root=demo_env["AGRORISK_STORAGE_LOCAL_ROOT"], cache_dir=demo_env["AGRORISK_STORAGE_CACHE_DIR"]
    )
    registry = ModelRegistry.from_settings(storage)
    production = registry.show("production")
    assert production.version == summary["model_version"]
    assert {"best.pt", "best.onnx", "metrics.json"} <= set(production.files)
    assert production.metadata["class_names"] == crop_risks
    assert production.metadata["dataset_version"] == summary["dataset_version"]
    assert Path(production.metadata["wandb_run"]).name.startswith("offline-run-")


def test_one_photo_through_the_backend_compare_route(demo, demo_env, fake_gemini):
    _, summary = demo
    crop_risks = [r.id for r in load_catalog().by_crop(CROP)]
    catalog = load_catalog()
    backend = f"http://127.0.0.1:{demo_env['AGRORISK_RUN_BACKEND_PORT']}"
    response = httpx.post(
        f"{backend}/v1/compare", files={"file": ("leaf.jpg", leaf_jpeg(0), "image/jpeg")}, timeout=60
    )
    assert response.status_code == 200, response.text
    body = response.json()

    local = Prediction.model_validate(body["local"])
    assert local.error is None
    assert local.model_version == summary["model_version"]
    assert local.detections and (local.image_width, local.image_height) == (96, 96)
    for detection in local.detections:
        assert detection.risk_id == crop_risks[detection.class_index]
        assert 0 < detection.confidence <= 1 and detection.box.area > 0

    gemini = Prediction.model_validate(body["gemini"])
    assert gemini.error is None and gemini.detections
    assert all(d.risk_id in catalog for d in gemini.detections)
    assert gemini.cost_usd and gemini.cost_usd > 0
    assert fake_gemini.calls(), "the backend did not ask the Gemini server"
    assert {row["found_by"] for row in body["table"]} <= {"both", "local", "gemini"} and body["table"]


def test_rerun_reuses_dataset_model_and_running_services(demo, demo_env):
    _, first = demo
    again = run_demo(demo_env)
    assert again.returncode == 0, again.stdout[-4000:]
    assert "reuse trained model" in again.stdout and "already running" in again.stdout
    summary = json.loads((Path(demo_env["AGRORISK_DEMO_WORK_DIR"]) / "demo-summary.json").read_text())
    assert (summary["dataset_version"], summary["model_version"]) == (
        first["dataset_version"],
        first["model_version"],
    )
    storage = StorageSettings(
        local_root=demo_env["AGRORISK_STORAGE_LOCAL_ROOT"], cache_dir=demo_env["AGRORISK_STORAGE_CACHE_DIR"]
    )
    assert [v.version for v in ModelRegistry.from_settings(storage).list()] == [first["model_version"]]


def test_stop_ends_every_process_the_demo_started(demo, demo_env):
    run_dir = Path(demo_env["AGRORISK_RUN_DIR"])
    started = started_processes(run_dir)
    assert set(started) == {"ray", "backend"}  # headless: no Gradio
    stopped = stop_services(demo_env)
    assert stopped.returncode == 0, stopped.stderr
    for _, run_id in started.values():
        assert processes_of_run(run_id) == []
    assert not list(run_dir.glob("*.pid"))
