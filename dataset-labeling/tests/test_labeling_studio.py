"""Label Studio round trip against the real server: push tasks with predictions, annotate, pull, build."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agrorisk_common.ports import free_port
from agrorisk_labeling import studio
from agrorisk_labeling.autolabel import autolabel
from agrorisk_labeling.build import build_dataset
from agrorisk_labeling.cli import app
from agrorisk_labeling.labellers import WholeImageLabeller, build_labellers
from agrorisk_labeling.labels import LabelSource, LabelStatus, LabelStore
from agrorisk_labeling.manifest import images_dir_of, labels_path_of, read_manifest
from agrorisk_labeling.settings import Settings

REPO = Path(__file__).resolve().parents[2]
LABEL_STUDIO = REPO / ".venv-labelstudio" / "bin" / "label-studio"
EMAIL, PASSWORD = "reviewer@agrorisk.test", "review-pass-123"
pytestmark = pytest.mark.slow


@dataclass
class Server:
    url: str
    token: str
    files_root: Path


def personal_access_token(url: str) -> str:
    """Log in like a browser (CSRF + session), then create a personal access token."""
    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as client:
        client.get("/user/login/")
        client.post(
            "/user/login/",
            data={"email": EMAIL, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
            headers={"Referer": f"{url}/user/login/"},
        )
        response = client.post(
            "/api/token/", headers={"X-CSRFToken": client.cookies["csrftoken"], "Referer": url}
        )
        response.raise_for_status()
        return response.json()["token"]


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory) -> Iterator[Server]:
    if not LABEL_STUDIO.exists():
        pytest.skip(
            "Label Studio server is not installed: run dataset-labeling/scripts/install-label-studio.sh"
        )
    root = tmp_path_factory.mktemp("label-studio")
    files_root = root / "files"
    files_root.mkdir()
    port = free_port()
    env = os.environ | {
        "LABEL_STUDIO_USERNAME": EMAIL,
        "LABEL_STUDIO_PASSWORD": PASSWORD,
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(files_root),
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "COLLECT_ANALYTICS": "false",
    }
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(LABEL_STUDIO),
            "start",
            "--no-browser",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(root / "data"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            if process.poll() is not None:
                pytest.fail(f"Label Studio exited: {(root / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("Label Studio did not become healthy in 240 s")
            time.sleep(1)
        yield Server(url, personal_access_token(url), files_root)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.mark.usefixtures("no_labellers")
def test_round_trip_human_labels_win_and_reimport_is_idempotent(
    label_studio, make_pool, catalog, risk_ids, monkeypatch, tmp_path
):
    pool = make_pool(per_class=3, duplicates=0)
    pool_dir = label_studio.files_root / "pool"
    pool.manifest.parent.rename(pool_dir)
    manifest = pool_dir / "manifest.csv"
    frame = read_manifest(manifest)
    close_ups = set(frame[frame["risk_id"] == risk_ids[0]]["sha256"])
    autolabel(manifest, [WholeImageLabeller()], only_sha256=close_ups)  # --whole-image for close-ups
    crawled = autolabel(manifest, build_labellers(Settings(), catalog))  # no model, no Gemini key
    assert (crawled.labelled, crawled.needs_review) == (0, 3)
    monkeypatch.setenv("AGRORISK_LABELING_LABEL_STUDIO_URL", label_studio.url)
    (tmp_path / "label-studio-token").write_text(label_studio.token + "\n")  # as `make bootstrap` leaves it
    monkeypatch.setenv("AGRORISK_LABELING_LABEL_STUDIO_API_KEY_FILE", str(tmp_path / "label-studio-token"))
    monkeypatch.setenv("AGRORISK_LABELING_LABEL_STUDIO_PROJECT", "AgroRisk round trip")
    monkeypatch.setenv("AGRORISK_LABELING_LABEL_STUDIO_FILES_ROOT", str(label_studio.files_root))
    runner = CliRunner()
    push_args = ["studio", "push", "--manifest", str(manifest), "--risks", ",".join(risk_ids)]

    first = runner.invoke(app, push_args)
    assert first.exit_code == 0, first.output
    assert "6 new task(s), 0 already there" in first.output
    again = runner.invoke(app, push_args)
    assert "0 new task(s), 6 already there" in again.output

    settings = Settings()
    client = studio.connect(settings)
    project = next(p for p in client.projects.list() if p.title == "AgroRisk round trip")
    assert all(f'value="{r}"' in project.label_config for r in risk_ids)
    tasks = list(client.tasks.list(project=project.id, fields="all"))
    assert len(tasks) == 6
    waiting = [t for t in tasks if t.data.get("review") == studio.NEEDS_REVIEW]
    assert {t.data["sha256"] for t in waiting} == set(frame["sha256"]) - close_ups
    predictions = [p for t in tasks for p in client.predictions.list(task=t.id)]
    assert len(predictions) == 3 and {p.model_version for p in predictions} == {"whole-image:requested"}
    assert all(p.score == 0.0 for p in predictions)
    assert not any(client.predictions.list(task=t.id) for t in waiting)  # nothing guessed for them

    # The image is served to the labeller by Label Studio itself (local-files storage).
    task, empty = waiting[0], waiting[1]
    with httpx.Client(base_url=label_studio.url) as http:
        access = http.post("/api/token/refresh", json={"refresh": label_studio.token}).json()["access"]
        served = http.get(task.data["image"], headers={"Authorization": f"Bearer {access}"})
    assert served.status_code == 200
    assert served.content == (images_dir_of(manifest) / task.data["file"]).read_bytes()

    # A reviewer boxes one waiting photo (the first risk, upper left) and finds nothing on another.
    client.annotations.create(
        id=task.id,
        result=[
            {
                "from_name": "label",
                "to_name": "image",
                "type": "rectanglelabels",
                "value": {
                    "x": 10,
                    "y": 20,
                    "width": 30,
                    "height": 25,
                    "rotation": 0,
                    "rectanglelabels": [risk_ids[0]],
                },
                "original_width": 96,
                "original_height": 96,
            }
        ],
    )
    client.annotations.create(id=empty.id, result=[])
    pulled = runner.invoke(app, ["studio", "pull", "--manifest", str(manifest)])
    assert pulled.exit_code == 0, pulled.output
    assert "2 human-labelled, 4 not annotated yet" in pulled.output

    only = {task.data["sha256"]}
    autolabel(manifest, [WholeImageLabeller()], relabel=True, only_sha256=only)  # never over a human
    store = LabelStore.load(labels_path_of(manifest))
    human = store.get(task.data["sha256"])
    assert human.source == LabelSource.HUMAN
    assert [(b.risk_id, *(round(v, 4) for v in b.coords)) for b in human.boxes] == [
        (risk_ids[0], 0.1, 0.2, 0.4, 0.45)
    ]
    assert store.get(empty.data["sha256"]).status == LabelStatus.NEGATIVE
    assert "0 new task(s), 6 already there" in runner.invoke(app, push_args).output

    report = build_dataset(
        manifest, tmp_path / "ds", catalog, risk_ids=risk_ids, val_fraction=0, test_fraction=0
    )
    labels = {p.stem: p.read_text().strip() for p in (tmp_path / "ds" / "labels").glob("*/*.txt")}
    assert labels[task.data["sha256"]] == "0 0.250000 0.325000 0.300000 0.250000"
    assert labels[empty.data["sha256"]] == ""  # a reviewed negative
    assert {labels[s] for s in close_ups} == {"0 0.500000 0.500000 1.000000 1.000000"}
    assert waiting[2].data["sha256"] not in labels and report.needs_review == 1
    assert (sum(b.boxes for b in report.balance), report.negatives["train"]) == (4, 1)
    assert len(read_manifest(manifest)) == 6


def test_waiting_photos_are_marked_in_their_task_and_an_empty_annotation_is_a_negative(make_pool):
    manifest = make_pool(per_class=1, duplicates=0).manifest
    autolabel(manifest, [])  # no labeller: both photos wait for review
    store = LabelStore.load(labels_path_of(manifest))
    row = next(read_manifest(manifest).itertuples(index=False))

    task = studio.build_task(row, store.get(row.sha256), "/data/local-files/?d=x.jpg")
    assert task["data"]["review"] == studio.NEEDS_REVIEW and "predictions" not in task

    export = [
        {"data": {"sha256": row.sha256}, "annotations": [{"id": 1, "result": [], "was_cancelled": False}]}
    ]
    summary = studio.apply_export(export, store, {row.sha256: row.file})
    reviewed = store.get(row.sha256)
    assert summary.human_labelled == 1
    assert (reviewed.source, reviewed.status, reviewed.boxes) == (LabelSource.HUMAN, LabelStatus.NEGATIVE, [])
