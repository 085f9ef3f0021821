"""`make demo` end to end, headless and tiny, on real photos: a small subset of PlantDoc (from the
shared data folder, registered like the full data set) -> the Dagster job `training` in a persistent
instance (the starter model becomes production, a candidate fine-tunes from it, the gate decides) ->
Ray Serve + backend; one real photo through `POST /v1/compare` with Gemini played by the local fake
Gemini REST server. Everything lives in a temp folder on free ports, and every process the demo started
is stopped at the end, also when a test fails."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import httpx
import pytest
import yaml

from agrorisk_common.catalog import load_catalog
from agrorisk_common.detection import Prediction
from agrorisk_common.ports import free_port
from agrorisk_devtools.gemini_standin import FakeGeminiServer
from agrorisk_labeling.public_datasets import REGISTRY_FILE, PublicDatasets
from agrorisk_storage import ModelRegistry, StorageSettings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "scripts" / "demo.py"
RUN_LOCAL = REPO / "scripts" / "run_local.py"
PLANTDOC = "plantdoc-cc-by-4.0"
SHARED = REPO.parent / "shared" / "datasets" / PLANTDOC
STARTER_CLASSES = [
    "maize-common-rust", "maize-gray-leaf-spot", "maize-northern-leaf-blight", "potato-early-blight",
    "potato-late-blight",
]  # fmt: skip
PHOTOS_PER_CLASS = 8
GEMINI_KEY = "e2e-test-key"
TINY = ["--headless", "--crop", "maize,potato", "--epochs", "1", "--imgsz", "96", "--batch", "16"]


def plantdoc_subset(dest: Path, per_class: int) -> Path:
    """The first `per_class` photos with a box of each starter class, copied with their labels and a
    registry file that names this folder as the data set's local copy (no sha256: a subset)."""
    classes = (SHARED / "classes.txt").read_text().split()
    wanted = {classes.index(name): 0 for name in STARTER_CLASSES}
    (dest / "images").mkdir(parents=True)
    (dest / "labels").mkdir()
    for label in sorted((SHARED / "labels").glob("*.txt")):
        found = {int(line.split()[0]) for line in label.read_text().splitlines() if line.strip()}
        hits = [c for c in found & set(wanted) if wanted[c] < per_class]
        if not hits:
            continue
        for c in found & set(wanted):
            wanted[c] += 1
        image = next((SHARED / "images").glob(f"{label.stem}.*"))
        shutil.copy(image, dest / "images" / image.name)
        shutil.copy(label, dest / "labels" / label.name)
        if min(wanted.values()) >= per_class:
            break
    shutil.copy(SHARED / "classes.txt", dest / "classes.txt")
    dataset = PublicDatasets.load().get(PLANTDOC)
    archive = dataset.archive.model_copy(update={"sha256": None, "sha256_unknown": "a test subset"})
    subset = dataset.model_copy(
        update={
            "archive": archive,
            "local": str(dest),
            "mapping": str(REGISTRY_FILE.parent / dataset.mapping),
            "images": len(list((dest / "images").iterdir())),
            "boxes": None,
        }
    )
    registry_file = dest.parent / "public_datasets.yaml"
    registry_file.write_text(yaml.safe_dump([subset.model_dump()], sort_keys=False))
    return registry_file


@pytest.fixture(scope="module")
def fake_gemini():
    with FakeGeminiServer(api_key=GEMINI_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory, fake_gemini) -> dict[str, str]:
    """A private world: registry, data, runs, Dagster instance and services under a temp folder, free
    loopback ports, W&B offline, Gemini = the fake server, real photos = the PlantDoc subset. Nothing
    inherited from the caller's AGRORISK_*/Gemini vars."""
    if not SHARED.is_dir():
        pytest.skip(f"no PlantDoc copy at {SHARED}")
    root = tmp_path_factory.mktemp("e2e-demo")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AGRORISK_", "GEMINI_", "GOOGLE_", "WANDB_", "DAGSTER_"))
    }
    env.update(
        AGRORISK_DEMO_WORK_DIR=str(root / "demo"),
        AGRORISK_PIPELINE_PUBLIC_DATASETS_FILE=str(plantdoc_subset(root / "plantdoc", PHOTOS_PER_CLASS)),
        AGRORISK_STORAGE_LOCAL_ROOT=str(root / "registry"),
        AGRORISK_STORAGE_CACHE_DIR=str(root / "cache"),
        AGRORISK_TRAIN_CONFIG_DIR=str(root / "ultralytics"),
        AGRORISK_TRAIN_WEIGHTS_DIR=str(root / "weights"),
        AGRORISK_TRAIN_WORKERS="0",
        AGRORISK_RUN_DIR=str(root / "run"),
        AGRORISK_BACKEND_DATA_DIR=str(root / "backend"),
        # A 1-epoch model is unsure of everything: keep its low-confidence boxes so the contract shows.
        AGRORISK_RAY_CONF_THRESHOLD="0.001",
        AGRORISK_RAY_MAX_DETECTIONS="3",
        AGRORISK_GEMINI_API_KEY=GEMINI_KEY,
        AGRORISK_GEMINI_BASE_URL=fake_gemini.base_url,
        AGRORISK_GEMINI_MAX_ATTEMPTS="1",
        WANDB_MODE="offline",
        YOLO_OFFLINE="1",
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
        out, _ = process.communicate(timeout=480)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        pytest.fail(f"the demo did not finish in 480 s:\n{out[-3000:]}")
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


def registry(env: dict[str, str]) -> ModelRegistry:
    storage = StorageSettings(
        local_root=env["AGRORISK_STORAGE_LOCAL_ROOT"], cache_dir=env["AGRORISK_STORAGE_CACHE_DIR"]
    )
    return ModelRegistry.from_settings(storage)


def test_demo_learns_real_photos_and_serves_the_winner_of_the_gate(demo, demo_env):
    result, summary = demo
    assert "real labelled photos" in result.stdout and "drawn leaves" not in result.stdout
    assert "open http://127.0.0.1:" in result.stdout
    assert summary["source"] == "real" and f"{PLANTDOC} (CC-BY-4.0)" in summary["photos"]
    assert summary["classes"] == STARTER_CLASSES  # >= 5 classes, the starter model's order
    assert 0.0 <= summary["metrics"]["map50"] <= 1.0 and summary["images"]["val"] > 0

    models = registry(demo_env)
    starter, candidate = models.show("v1"), models.show(summary["candidate_version"])
    assert starter.metadata["lineage"]["start"] == "starter v2"  # the empty registry's first production
    assert models.alias_history("production")[0] == "v1"
    assert summary["start_weights"] == "production v1 (starter v2)"
    lineage = candidate.metadata["lineage"]
    assert lineage["parent_version"] == "v1" and lineage["dagster_run_id"] == summary["dagster_run_id"]
    assert candidate.metadata["dagster_run_id"] == summary["dagster_run_id"]
    assert candidate.metadata["dataset_version"] == summary["dataset_version"]
    assert candidate.metadata["git_commit"] and candidate.metadata["comparison"]["base_version"] == "v1"
    assert Path(candidate.metadata["wandb_run"]).name.startswith("offline-run-")
    production = models.show("production")
    assert production.version == summary["production_version"]
    assert production.version == (candidate.version if summary["gate_passed"] else "v1")
    assert {"best.pt", "best.onnx", "metrics.json"} <= set(production.files)

    instance = dg.DagsterInstance.from_config(summary["dagster_home"])  # what the Dagster UI reads
    run = instance.get_run_by_id(summary["dagster_run_id"])
    assert run is not None and run.job_name == "training" and run.is_success


def test_one_real_photo_through_the_backend_compare_route(demo, demo_env, fake_gemini):
    _, summary = demo
    backend = f"http://127.0.0.1:{demo_env['AGRORISK_RUN_BACKEND_PORT']}"
    photo = next((Path(demo_env["AGRORISK_DEMO_WORK_DIR"]) / "dataset" / "images" / "val").iterdir())
    response = httpx.post(
        f"{backend}/v1/compare", files={"file": (photo.name, photo.read_bytes(), "image/jpeg")}, timeout=60
    )
    assert response.status_code == 200, response.text
    body = response.json()

    local = Prediction.model_validate(body["local"])
    assert local.error is None and local.model_version == summary["production_version"]
    for detection in local.detections:
        assert detection.risk_id == STARTER_CLASSES[detection.class_index]
        assert 0 < detection.confidence <= 1 and detection.box.area > 0

    gemini = Prediction.model_validate(body["gemini"])
    catalog = load_catalog()
    assert gemini.error is None and gemini.detections
    assert all(d.risk_id in catalog for d in gemini.detections)
    assert fake_gemini.calls(), "the backend did not ask the Gemini server"


@pytest.mark.usefixtures("demo")
def test_stop_ends_every_process_the_demo_started(demo_env):
    run_dir = Path(demo_env["AGRORISK_RUN_DIR"])
    started = started_processes(run_dir)
    assert set(started) == {"ray", "backend"}  # headless: no Gradio
    stopped = stop_services(demo_env)
    assert stopped.returncode == 0, stopped.stderr
    for _, run_id in started.values():
        assert processes_of_run(run_id) == []
    assert not list(run_dir.glob("*.pid"))
