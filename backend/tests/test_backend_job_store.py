"""The job store on its own, once per database (SQLite, a real PostgreSQL): concurrent claimers
never take a job twice, results and restarts survive a reopened store, and no error or log line
repeats the PostgreSQL password."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from agrorisk_backend.services.job_store import MAX_RESTARTS, JobItem, JobStore
from agrorisk_backend.settings import Settings

CLAIMERS, JOBS = 4, 24


def photos(folder: Path, count: int) -> list[tuple[str, Path]]:
    return [(f"p{i}.jpg", folder / f"p{i}.jpg") for i in range(count)]


def test_concurrent_claimers_take_each_queued_job_once_oldest_first(jobs_database, tmp_path):
    stores = [jobs_database.store() for _ in range(CLAIMERS)]  # one connection pool each
    for n in range(JOBS):
        stores[0].create(f"j{n:02d}", False, photos(tmp_path, 2), None)
    claimed: list[list[str]] = [[] for _ in stores]
    start = threading.Barrier(CLAIMERS)

    def claim_all(store: JobStore, into: list[str]) -> None:
        start.wait()
        while (job := store.claim_next()) is not None:
            into.append(job.id)

    threads = [threading.Thread(target=claim_all, args=pair) for pair in zip(stores, claimed, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for store in stores:
        store.close()
    assert sorted(sum(claimed, [])) == [f"j{n:02d}" for n in range(JOBS)]  # every job, none twice
    assert all(ids == sorted(ids) for ids in claimed)  # each claimer got them oldest first


def test_results_and_restarts_outlive_the_store(jobs_database, tmp_path):
    store = jobs_database.store()
    store.create("j1", True, photos(tmp_path, 3), tmp_path)
    claimed = store.claim_next()
    assert claimed is not None and [n for n, _ in claimed.pending] == [0, 1, 2]
    store.save_item("j1", 1, JobItem(name="p1.jpg", status="done"))
    store.close()  # the process dies mid-job

    store = jobs_database.store()
    assert store.recover().resumed == ["j1"]
    resumed = store.claim_next()
    assert resumed is not None and [n for n, _ in resumed.pending] == [0, 2]  # the done photo is kept
    job = store.get("j1")
    assert job is not None and (job.status, job.done, job.restarts, job.use_gemini) == ("running", 1, 1, True)
    store.close()


def test_past_the_restart_limit_a_job_fails_with_the_reason(jobs_database, tmp_path):
    store = jobs_database.store()
    store.create("j1", False, photos(tmp_path, 2), tmp_path)
    for _ in range(MAX_RESTARTS):
        assert store.claim_next() is not None and store.recover().resumed == ["j1"]
    store.claim_next()
    recovery = store.recover()
    assert (recovery.resumed, recovery.failed) == ([], [("j1", tmp_path)])
    job = store.get("j1")
    assert job is not None and (job.status, job.failed, job.progress) == ("failed", 2, 1.0)
    assert job.error is not None and f"stopped {MAX_RESTARTS + 1} times" in job.error
    assert store.claim_next() is None
    store.close()


def test_a_requeued_job_is_claimed_again_and_a_finished_one_is_not(jobs_database, tmp_path):
    store = jobs_database.store()
    store.create("j1", False, photos(tmp_path, 1), None)
    store.create("j2", False, photos(tmp_path, 1), None)
    assert store.claim_next().id == "j1"
    store.requeue("j1")  # a graceful stop
    assert store.claim_next().id == "j1"
    store.finish("j1")
    assert store.claim_next().id == "j2"
    assert store.claim_next() is None
    assert store.get("j1").status == "done" and store.get("nope") is None
    store.close()


def test_the_postgresql_url_is_a_secret(postgres_server):
    url, password = f"{postgres_server}/postgres", make_url(postgres_server).password
    assert password
    settings = Settings(jobs_database_url=url)
    assert settings.jobs_database == url and password not in str(settings.public_dict())
    store = JobStore(settings.jobs_database)
    assert store.where.startswith("postgresql+psycopg://agrorisk:***@") and password not in store.where
    store.close()

    for wrong, error in [
        (url.replace("postgresql:", "mysql:"), ValueError),
        (f"{password} is no URL", ValueError),
        (url.replace(postgres_server.rsplit(":", 1)[1], "1"), OperationalError),  # nothing listens on port 1
    ]:
        with pytest.raises(error) as raised:
            JobStore(wrong)
        assert password not in str(raised.value)


def test_an_empty_url_means_the_sqlite_file(tmp_path):
    settings = Settings(data_dir=tmp_path, jobs_database_url="")
    assert settings.jobs_database_url is None and settings.jobs_database == tmp_path / "jobs.sqlite3"
