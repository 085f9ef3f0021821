"""The durable job queue: jobs, their photos and each photo's result in one SQLite file.

A job is `queued` until the worker claims it, `running` while it works, then `done` or `failed`
(with `error`). Each photo's result is written as it arrives, so a resumed job redoes only the
photos still pending. One backend process owns a store: at its start a job left `running` was cut
off by a crash or kill, and is queued again (`restarts` + 1) or, past `MAX_RESTARTS`, failed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from agrorisk_backend.api.schemas import PredictionResult

MAX_RESTARTS = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    use_gemini INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    restarts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    upload_dir TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq);
CREATE TABLE IF NOT EXISTS job_items (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    n INTEGER NOT NULL,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (job_id, n)
);
"""


class JobItem(BaseModel):
    name: str
    status: Literal["pending", "done", "failed"] = "pending"
    error: str | None = None
    local: PredictionResult | None = None
    gemini: PredictionResult | None = None
    agreement: float | None = None


class Job(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"] = Field(
        default="queued",
        description="queued, running, then done or failed (`error` says why); kept across backend restarts",
    )
    use_gemini: bool
    created_at: str
    finished_at: str | None = None
    total: int
    done: int = 0
    failed: int = 0
    restarts: int = Field(
        default=0,
        description=f"times the backend stopped abruptly (crash, kill) while the job ran; each time it "
        f"resumes, and a stop after {MAX_RESTARTS} restarts fails it",
    )
    error: str | None = Field(default=None, description="why the job failed (status `failed`)")
    items: list[JobItem]

    @computed_field
    @property
    def progress(self) -> float:
        """Share of photos finished (done or failed), 0..1."""
        return (self.done + self.failed) / self.total if self.total else 1.0


@dataclass(frozen=True)
class ClaimedJob:
    """A job the worker took: the photos still to do, and the upload folder it owns (if any)."""

    id: str
    use_gemini: bool
    pending: list[tuple[int, Path]]
    upload_dir: Path | None


@dataclass(frozen=True)
class Recovery:
    """What a start found left `running`: jobs queued again, and jobs failed with their upload folders."""

    resumed: list[str]
    failed: list[tuple[str, Path | None]]


def _now() -> str:
    return datetime.now(UTC).isoformat()


class JobStore:
    """Jobs in SQLite (WAL, every write its own transaction); safe to call from worker threads."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so no other writer slips between."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(
        self, job_id: str, use_gemini: bool, photos: list[tuple[str, Path]], upload_dir: Path | None
    ) -> Job:
        """Store a queued job whose photos (item name, path) are already on disk."""
        job = Job(
            id=job_id,
            use_gemini=use_gemini,
            created_at=_now(),
            total=len(photos),
            items=[JobItem(name=name) for name, _ in photos],
        )
        with self._write():
            self._db.execute(
                "INSERT INTO jobs (id, status, use_gemini, created_at, upload_dir) VALUES (?, 'queued', ?, ?, ?)",
                (job_id, use_gemini, job.created_at, str(upload_dir) if upload_dir else None),
            )
            self._db.executemany(
                "INSERT INTO job_items (job_id, n, path, status, item) VALUES (?, ?, ?, 'pending', ?)",
                [
                    (job_id, n, str(path), item.model_dump_json())
                    for n, ((_, path), item) in enumerate(zip(photos, job.items, strict=True))
                ],
            )
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            items = self._db.execute(
                "SELECT item FROM job_items WHERE job_id = ? ORDER BY n", (job_id,)
            ).fetchall()
        parsed = [JobItem.model_validate_json(r["item"]) for r in items]
        return Job(
            id=row["id"],
            status=row["status"],
            use_gemini=bool(row["use_gemini"]),
            created_at=row["created_at"],
            finished_at=row["finished_at"],
            total=len(parsed),
            done=sum(item.status == "done" for item in parsed),
            failed=sum(item.status == "failed" for item in parsed),
            restarts=row["restarts"],
            error=row["error"],
            items=parsed,
        )

    def claim_next(self) -> ClaimedJob | None:
        """Mark the oldest queued job `running` and return it, or None when none waits."""
        with self._write():
            row = self._db.execute(
                "SELECT id, use_gemini, upload_dir FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE jobs SET status = 'running' WHERE id = ?", (row["id"],))
            pending = self._db.execute(
                "SELECT n, path FROM job_items WHERE job_id = ? AND status = 'pending' ORDER BY n",
                (row["id"],),
            ).fetchall()
        upload_dir = Path(row["upload_dir"]) if row["upload_dir"] else None
        return ClaimedJob(
            row["id"], bool(row["use_gemini"]), [(r["n"], Path(r["path"])) for r in pending], upload_dir
        )

    def save_item(self, job_id: str, n: int, item: JobItem) -> None:
        with self._write():
            self._db.execute(
                "UPDATE job_items SET status = ?, item = ? WHERE job_id = ? AND n = ?",
                (item.status, item.model_dump_json(), job_id, n),
            )

    def finish(self, job_id: str, error: str | None = None) -> None:
        """`done`, or `failed` with `error` (photos still pending fail with it too)."""
        with self._write():
            self._finish(job_id, error)

    def requeue(self, job_id: str) -> None:
        """A graceful stop: the running job waits for the next start, its finished photos kept."""
        with self._write():
            self._db.execute(
                "UPDATE jobs SET status = 'queued' WHERE id = ? AND status = 'running'", (job_id,)
            )

    def recover(self) -> Recovery:
        """At start: every job left `running` was cut off; queue it again, or fail it past the limit."""
        resumed: list[str] = []
        failed: list[tuple[str, Path | None]] = []
        with self._write():
            rows = self._db.execute(
                "SELECT id, restarts, upload_dir FROM jobs WHERE status = 'running' ORDER BY seq"
            ).fetchall()
            for row in rows:
                stops = row["restarts"] + 1
                if row["restarts"] >= MAX_RESTARTS:
                    self._finish(
                        row["id"],
                        f"the backend stopped {stops} times while this job was running, so it is not "
                        "resumed again (one of its photos may be crashing the server)",
                    )
                    failed.append((row["id"], Path(row["upload_dir"]) if row["upload_dir"] else None))
                else:
                    self._db.execute(
                        "UPDATE jobs SET status = 'queued', restarts = ? WHERE id = ?", (stops, row["id"])
                    )
                    resumed.append(row["id"])
        return Recovery(resumed, failed)

    def _finish(self, job_id: str, error: str | None) -> None:
        if error is not None:
            items = self._db.execute(
                "SELECT n, item FROM job_items WHERE job_id = ? AND status = 'pending'", (job_id,)
            ).fetchall()
            self._db.executemany(
                "UPDATE job_items SET status = 'failed', item = ? WHERE job_id = ? AND n = ?",
                [
                    (
                        JobItem.model_validate_json(r["item"])
                        .model_copy(update={"status": "failed", "error": error})
                        .model_dump_json(),
                        job_id,
                        r["n"],
                    )
                    for r in items
                ],
            )
        self._db.execute(
            "UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
            ("failed" if error is not None else "done", error, _now(), job_id),
        )
