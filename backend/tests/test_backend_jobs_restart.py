"""Jobs outlive the backend: `agrorisk-backend serve` as a real process, killed (SIGKILL) or stopped
(SIGTERM) mid-job and started again on the same data folder and jobs database (SQLite, PostgreSQL);
every job completes, none is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest

from agrorisk_common.ports import free_port
from agrorisk_devtools.backend_stack import backend_env, server_process
from agrorisk_devtools.gemini_standin import FakeReply

pytestmark = pytest.mark.slow
GEMINI_DELAY_S = 1.5  # each photo waits this long for the fake Gemini: the job is still running when cut
SLOW_ANSWERS = 8  # photos answered that slowly (then at once): more than any test here asks about


@pytest.fixture
def backend(
    ray_stack, fake_gemini, jobs_database, tmp_path
) -> Callable[[], AbstractContextManager[tuple[httpx.Client, subprocess.Popen]]]:
    """`with backend() as (http, process):` one more backend process on the same data folder and
    jobs database, with a slow fake Gemini."""
    fake_gemini.reset()
    fake_gemini.script(*[FakeReply.answer([], delay_s=GEMINI_DELAY_S)] * SLOW_ANSWERS)
    ray_url, storage = ray_stack
    env = backend_env(storage, ray_url, tmp_path / "data", fake_gemini.base_url, "test-gemini-key")
    env["AGRORISK_BACKEND_JOBS_CONCURRENCY"] = "1"
    env.update(jobs_database.env)
    starts = iter(range(1, 100))

    @contextmanager
    def start() -> Iterator[tuple[httpx.Client, subprocess.Popen]]:
        port = free_port()
        args = [sys.executable, "-m", "agrorisk_backend", "serve", "--host", "127.0.0.1", "--port", str(port)]
        url = f"http://127.0.0.1:{port}"
        log = tmp_path / f"backend-{next(starts)}.log"
        with (
            server_process(args, env, f"{url}/healthz", "backend", log, timeout_s=120) as process,
            httpx.Client(base_url=url, timeout=30) as http,
        ):
            yield http, process

    return start


def submit(http: httpx.Client, photos: list[bytes]) -> str:
    files = [("files", (f"leaf{i}.jpg", photo, "image/jpeg")) for i, photo in enumerate(photos)]
    response = http.post("/v1/jobs", files=files, data={"use_gemini": "true"})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def poll(http: httpx.Client, job_id: str, until: Callable[[dict], bool], timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if until(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never got there: {job}")


def finished(job: dict) -> bool:
    return job["status"] in ("done", "failed")


def part_done(job: dict) -> bool:
    return job["status"] == "running" and job["done"] >= 1


def stored(jobs_database, job_id: str) -> dict:
    """The job as the store holds it while no backend runs."""
    store = jobs_database.store()
    try:
        return store.get(job_id).model_dump()
    finally:
        store.close()


def no_secret_in_logs(jobs_database, tmp_path: Path) -> bool:
    """No backend log repeats the jobs database's password (SQLite has none)."""
    secret = jobs_database.password
    return not secret or all(secret not in log.read_text() for log in tmp_path.glob("backend-*.log"))


def test_a_killed_backend_resumes_its_jobs_on_the_next_start(backend, jobs_database, leaf_jpeg, tmp_path):
    with backend() as (http, process):
        first = submit(http, [leaf_jpeg(i, 128, i) for i in range(4)])
        second = submit(http, [leaf_jpeg(9, 128, 9)])
        cut = poll(http, first, part_done)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    data = tmp_path / "data"
    assert stored(jobs_database, first)["status"] == "running"
    assert stored(jobs_database, second)["status"] == "queued"
    assert list((data / "jobs" / first).iterdir())  # its photos wait on disk for the next start

    with backend() as (http, _):
        resumed, waited = poll(http, first, finished), poll(http, second, finished)
    assert (resumed["status"], resumed["done"], resumed["failed"], resumed["restarts"]) == ("done", 4, 0, 1)
    assert (waited["status"], waited["done"], waited["restarts"]) == ("done", 1, 0)
    kept = [item for item in cut["items"] if item["status"] == "done"]
    by_name = {item["name"]: item for item in resumed["items"]}
    for item in kept:  # photos finished before the kill are kept, not redone
        assert by_name[item["name"]]["local"]["request_id"] == item["local"]["request_id"]
    assert not (data / "jobs" / first).exists()
    assert no_secret_in_logs(jobs_database, tmp_path)


def test_a_stopped_backend_puts_its_running_job_back_in_the_queue(
    backend, jobs_database, leaf_jpeg, tmp_path
):
    with backend() as (http, process):
        job_id = submit(http, [leaf_jpeg(i, 128, i) for i in range(3)])
        poll(http, job_id, part_done)
        process.terminate()
        process.wait(60)
    assert stored(jobs_database, job_id)["status"] == "queued"

    with backend() as (http, _):
        job = poll(http, job_id, finished)
    assert (job["status"], job["done"], job["restarts"]) == ("done", 3, 0)
    assert no_secret_in_logs(jobs_database, tmp_path)
