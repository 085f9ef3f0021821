"""The durable job queue: jobs, their photos and each photo's result in one database, SQLite (a file
in the data folder) or PostgreSQL, through one SQLAlchemy Core implementation.

A job is `queued` until the worker claims it, `running` while it works, then `done` or `failed`
(with `error`). Each photo's result is written as it arrives, so a resumed job redoes only the
photos still pending. One backend process owns a store: at its start a job left `running` was cut
off by a crash or kill, and is queued again (`restarts` + 1) or, past `MAX_RESTARTS`, failed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, computed_field
from sqlalchemy import (
    URL,
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    insert,
    make_url,
    select,
    update,
)
from sqlalchemy.exc import ArgumentError

from agrorisk_backend.api.schemas import PredictionResult

MAX_RESTARTS = 2
POSTGRESQL_SCHEMES = frozenset({"postgresql", "postgres", "postgresql+psycopg"})

_metadata = MetaData()
_jobs = Table(
    "jobs",
    _metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("status", Text, nullable=False),
    Column("use_gemini", Boolean, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("restarts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("upload_dir", Text),
    Index("jobs_by_status", "status", "seq"),
    sqlite_autoincrement=True,
)
_items = Table(
    "job_items",
    _metadata,
    Column("job_id", Text, ForeignKey("jobs.id"), primary_key=True),
    Column("n", Integer, primary_key=True),
    Column("path", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("item", Text, nullable=False),
)


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


def database_url(text: str) -> URL:
    """A PostgreSQL URL (`postgresql://user:password@host:5432/db`) for the psycopg 3 driver; the
    ValueError for anything else never repeats the text, which holds the password."""
    try:
        url = make_url(text)
    except ArgumentError:
        raise ValueError("not a database URL: expected postgresql://user:password@host:5432/db") from None
    if url.drivername not in POSTGRESQL_SCHEMES:
        raise ValueError(
            f"{url.drivername}:// is not PostgreSQL: expected postgresql://user:password@host:5432/db"
        )
    return url.set(drivername="postgresql+psycopg")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _upload_dir(value: str | None) -> Path | None:
    return Path(value) if value else None


def _sqlite_engine(path: Path) -> Engine:
    """SQLite in WAL mode, every transaction taken at once (BEGIN IMMEDIATE): no other writer slips
    between a transaction's read and its write, and a busy file is waited for (30 s)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(URL.create("sqlite", database=str(path)), connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # sqlite3 emits no BEGIN of its own
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class JobStore:
    """Jobs in SQLite (a `Path`) or PostgreSQL (a `postgresql://` URL); every call is one
    transaction, and the store is safe to call from worker threads."""

    def __init__(self, database: Path | str):
        if isinstance(database, Path):
            self._engine = _sqlite_engine(database)
        else:
            self._engine = create_engine(database_url(database), pool_pre_ping=True)
        _metadata.create_all(self._engine)

    @property
    def where(self) -> str:
        """The database, safe to log: its URL with the password masked."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self._engine.dispose()

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
        with self._engine.begin() as db:
            db.execute(
                insert(_jobs).values(
                    id=job_id,
                    status="queued",
                    use_gemini=use_gemini,
                    created_at=job.created_at,
                    upload_dir=str(upload_dir) if upload_dir else None,
                )
            )
            if photos:
                db.execute(
                    insert(_items),
                    [
                        {
                            "job_id": job_id,
                            "n": n,
                            "path": str(path),
                            "status": "pending",
                            "item": item.model_dump_json(),
                        }
                        for n, ((_, path), item) in enumerate(zip(photos, job.items, strict=True))
                    ],
                )
        return job

    def get(self, job_id: str) -> Job | None:
        with self._engine.begin() as db:
            row = db.execute(select(_jobs).where(_jobs.c.id == job_id)).one_or_none()
            if row is None:
                return None
            items = db.scalars(select(_items.c.item).where(_items.c.job_id == job_id).order_by(_items.c.n))
            parsed = [JobItem.model_validate_json(item) for item in items]
        return Job(
            id=row.id,
            status=row.status,
            use_gemini=row.use_gemini,
            created_at=row.created_at,
            finished_at=row.finished_at,
            total=len(parsed),
            done=sum(item.status == "done" for item in parsed),
            failed=sum(item.status == "failed" for item in parsed),
            restarts=row.restarts,
            error=row.error,
            items=parsed,
        )

    def claim_next(self) -> ClaimedJob | None:
        """Mark the oldest queued job `running` and return it, or None when none waits; the row is
        locked while it is claimed (PostgreSQL: FOR UPDATE SKIP LOCKED), so no job is taken twice."""
        oldest = (
            select(_jobs.c.id, _jobs.c.use_gemini, _jobs.c.upload_dir)
            .where(_jobs.c.status == "queued")
            .order_by(_jobs.c.seq)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        with self._engine.begin() as db:
            row = db.execute(oldest).one_or_none()
            if row is None:
                return None
            db.execute(update(_jobs).where(_jobs.c.id == row.id).values(status="running"))
            pending = db.execute(
                select(_items.c.n, _items.c.path)
                .where(_items.c.job_id == row.id, _items.c.status == "pending")
                .order_by(_items.c.n)
            ).all()
        return ClaimedJob(
            row.id, row.use_gemini, [(r.n, Path(r.path)) for r in pending], _upload_dir(row.upload_dir)
        )

    def save_item(self, job_id: str, n: int, item: JobItem) -> None:
        with self._engine.begin() as db:
            db.execute(
                update(_items)
                .where(_items.c.job_id == job_id, _items.c.n == n)
                .values(status=item.status, item=item.model_dump_json())
            )

    def finish(self, job_id: str, error: str | None = None) -> None:
        """`done`, or `failed` with `error` (photos still pending fail with it too)."""
        with self._engine.begin() as db:
            _finish(db, job_id, error)

    def requeue(self, job_id: str) -> None:
        """A graceful stop: the running job waits for the next start, its finished photos kept."""
        with self._engine.begin() as db:
            db.execute(
                update(_jobs).where(_jobs.c.id == job_id, _jobs.c.status == "running").values(status="queued")
            )

    def recover(self) -> Recovery:
        """At start: every job left `running` was cut off; queue it again, or fail it past the limit."""
        resumed: list[str] = []
        failed: list[tuple[str, Path | None]] = []
        running = (
            select(_jobs.c.id, _jobs.c.restarts, _jobs.c.upload_dir)
            .where(_jobs.c.status == "running")
            .order_by(_jobs.c.seq)
            .with_for_update()
        )
        with self._engine.begin() as db:
            for row in db.execute(running).all():
                stops = row.restarts + 1
                if row.restarts >= MAX_RESTARTS:
                    _finish(
                        db,
                        row.id,
                        f"the backend stopped {stops} times while this job was running, so it is not "
                        "resumed again (one of its photos may be crashing the server)",
                    )
                    failed.append((row.id, _upload_dir(row.upload_dir)))
                else:
                    db.execute(
                        update(_jobs).where(_jobs.c.id == row.id).values(status="queued", restarts=stops)
                    )
                    resumed.append(row.id)
        return Recovery(resumed, failed)


def _finish(db: Connection, job_id: str, error: str | None) -> None:
    if error is not None:
        pending = db.execute(
            select(_items.c.n, _items.c.item).where(_items.c.job_id == job_id, _items.c.status == "pending")
        ).all()
        if pending:
            db.execute(
                update(_items)
                .where(_items.c.job_id == job_id, _items.c.n == bindparam("item_n"))
                .values(status="failed", item=bindparam("failed_item")),
                [
                    {
                        "item_n": r.n,
                        "failed_item": JobItem.model_validate_json(r.item)
                        .model_copy(update={"status": "failed", "error": error})
                        .model_dump_json(),
                    }
                    for r in pending
                ],
            )
    db.execute(
        update(_jobs)
        .where(_jobs.c.id == job_id)
        .values(status="failed" if error is not None else "done", error=error, finished_at=_now())
    )
