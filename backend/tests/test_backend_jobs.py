"""Batch jobs run off the request path, survive a slow Gemini, and fail with a reason (never
vanish) when the backend keeps dying under them; every test runs once per jobs database (SQLite,
PostgreSQL)."""

from __future__ import annotations

import functools
import time
import unicodedata

import pytest

from agrorisk_backend.services.job_store import MAX_RESTARTS
from agrorisk_devtools.gemini_standin import FakeReply


@pytest.fixture
def make_client(make_client, jobs_database):
    """The apps of this module keep their jobs in the parametrized jobs database."""
    return functools.partial(make_client, **jobs_database.overrides)


def wait_for(client, job_id: str, timeout_s: float = 120) -> dict:
    """Poll the job (`client` is a TestClient or an httpx.Client) until it is done or failed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_job_answers_at_once_and_survives_a_slow_gemini(make_client, fake_gemini, leaf_jpeg):
    client = make_client(gemini_timeout_s=1.0)
    fake_gemini.script(FakeReply.answer([], delay_s=3.0))  # the first Gemini call is slower than allowed
    photos = [("files", (f"leaf{i}.jpg", leaf_jpeg(i, 160, i), "image/jpeg")) for i in range(3)]
    photos.append(("files", ("notes.jpg", b"not a photo", "image/jpeg")))
    response = client.post("/v1/jobs", files=photos, data={"use_gemini": "true"})
    assert response.status_code == 202
    started = response.json()
    assert (started["total"], started["status"], started["restarts"]) == (4, "queued", 0)

    job = wait_for(client, started["id"])
    assert job["status"] == "done" and job["progress"] == 1.0
    assert (job["done"], job["failed"]) == (3, 1)
    by_name = {item["name"].split("-", 1)[1]: item for item in job["items"]}
    assert by_name["notes.jpg"]["status"] == "failed" and "not an image" in by_name["notes.jpg"]["error"]
    done = [by_name[f"leaf{i}.jpg"] for i in range(3)]
    assert all(item["local"]["model_version"] == "v1" and item["local"]["error"] is None for item in done)
    gemini_errors = [item["gemini"]["error"] for item in done]
    assert sum("did not answer within 1 s" in (e or "") for e in gemini_errors) == 1
    assert sum(e is None for e in gemini_errors) == 2


def test_folder_job_reads_only_under_the_input_root(make_client, tmp_path, leaf_jpeg):
    root = tmp_path / "inbox"
    (root / "field-7").mkdir(parents=True)
    for i in range(2):
        (root / "field-7" / f"p{i}.jpg").write_bytes(leaf_jpeg(i, 128, i))
    client = make_client(jobs_input_root=root)

    job = wait_for(client, client.post("/v1/jobs", data={"folder": "field-7"}).json()["id"])
    assert (job["done"], job["failed"], job["use_gemini"]) == (2, 0, False)
    assert all(item["gemini"] is None for item in job["items"])

    assert client.post("/v1/jobs", data={"folder": "../"}).status_code == 422
    assert client.post("/v1/jobs", data={"folder": "nowhere"}).status_code == 404


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [({}, 422), ({"data": {"folder": "x"}}, 403)],
)
def test_bad_job_requests_are_refused(client, kwargs, status):
    assert client.post("/v1/jobs", **kwargs).status_code == status


def test_unknown_job_is_404(client):
    response = client.get("/v1/jobs/nope")
    assert response.status_code == 404 and "no job" in response.json()["detail"]


def test_a_job_cut_off_by_a_crash_too_often_fails_with_a_reason(make_client, jobs_database, tmp_path, leaf):
    data = tmp_path / "data"
    photo = data / "jobs" / "j1" / "00000-leaf.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(leaf)
    store = jobs_database.store()
    store.create("j1", False, [(photo.name, photo)], photo.parent)
    for _ in range(MAX_RESTARTS):  # a crash while it runs, then a start that resumes it
        assert store.claim_next().id == "j1"
        assert store.recover().resumed == ["j1"]
    store.claim_next()
    store.close()  # and the process dies once more

    job = make_client().get("/v1/jobs/j1").json()
    assert (job["status"], job["restarts"], job["progress"]) == ("failed", MAX_RESTARTS, 1.0)
    assert "stopped 3 times while this job was running" in job["error"]
    assert job["items"][0]["status"] == "failed" and job["items"][0]["error"] == job["error"]
    assert not photo.parent.exists()


AWKWARD_NAMES = {
    "300-byte name": "a" * 296 + ".jpg",
    "NUL byte": "le\x00af.jpg",
    "parent folder": "../x.jpg",
    "130 Cyrillic letters": "ж" * 130 + ".jpg",
    "decomposed Unicode and control characters": unicodedata.normalize("NFD", "йод\x1b\x7f.jpg"),
}


def raw_multipart(filename: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    """A multipart body whose filename carries its bytes as they are (UTF-8, a real NUL): httpx
    would percent-escape the control characters."""
    boundary = "agrorisk-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    )
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode(), {
        "content-type": f"multipart/form-data; boundary={boundary}"
    }


@pytest.mark.parametrize("filename", list(AWKWARD_NAMES.values()), ids=list(AWKWARD_NAMES))
def test_awkward_upload_names_are_saved_safely_and_the_job_completes(client, leaf_jpeg, filename):
    body, headers = raw_multipart(filename, leaf_jpeg(0, 128, 0))
    response = client.post("/v1/jobs", content=body, headers=headers)
    assert response.status_code == 202, response.text
    job = wait_for(client, response.json()["id"])
    assert (job["status"], job["done"], job["failed"]) == ("done", 1, 0), job
    (item,) = job["items"]
    name = item["name"]
    assert len(name.encode()) <= 255 and name.endswith(".jpg") and unicodedata.is_normalized("NFC", name)
    assert not any(unicodedata.category(ch) == "Cc" for ch in name)
    assert "/" not in name and ".." not in name
