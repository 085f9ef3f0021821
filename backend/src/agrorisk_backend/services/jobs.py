"""Batch jobs: many photos through the local model (and optionally Gemini), off the request path.

A job is an asyncio task in this process; its photos wait on disk under `<data_dir>/jobs/<id>/`
(uploads) or in a server folder. Each photo's result is kept as it arrives, so a slow or failing
Gemini delays or marks its own half of an item, never the job.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, computed_field

from agrorisk_backend.api.schemas import PredictionResult
from agrorisk_backend.errors import ApiError, public_text
from agrorisk_backend.services.recognition import Recognition
from agrorisk_backend.services.uploads import check_image_async, safe_file_name
from agrorisk_common.images import ImageRejected

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
_KEEP_FINISHED = 200


class JobItem(BaseModel):
    name: str
    status: Literal["pending", "done", "failed"] = "pending"
    error: str | None = None
    local: PredictionResult | None = None
    gemini: PredictionResult | None = None
    agreement: float | None = None


class Job(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "cancelled"] = "queued"
    use_gemini: bool
    created_at: str
    finished_at: str | None = None
    total: int
    done: int = 0
    failed: int = 0
    items: list[JobItem]

    @computed_field
    @property
    def progress(self) -> float:
        """Share of photos finished (done or failed), 0..1."""
        return (self.done + self.failed) / self.total if self.total else 1.0


class JobManager:
    def __init__(
        self, recognition: Recognition, work_dir: Path, concurrency: int, max_bytes: int, max_pixels: int
    ):
        self.recognition = recognition
        self.work_dir = work_dir
        self.concurrency = concurrency
        self.max_bytes, self.max_pixels = max_bytes, max_pixels
        self._jobs: dict[str, Job] = {}
        self._tasks: dict[str, asyncio.Task] = {}

    def upload_dir(self) -> tuple[str, Path]:
        """A fresh job id and the folder its uploaded photos go to."""
        job_id = uuid.uuid4().hex
        folder = self.work_dir / job_id
        folder.mkdir(parents=True, exist_ok=True)
        return job_id, folder

    async def save_upload(self, work_dir: Path, n: int, filename: str | None, data: bytes) -> Path:
        """Write the n-th upload of a job under a safe form of its name (`safe_file_name`); the
        photo itself is checked when the job reaches it."""
        path = work_dir / f"{n:05d}-{safe_file_name(filename, f'image-{n}')}"
        await asyncio.to_thread(path.write_bytes, data)
        return path

    def start(self, job_id: str, files: list[Path], use_gemini: bool, owned_dir: Path | None = None) -> Job:
        job = Job(
            id=job_id,
            use_gemini=use_gemini,
            created_at=datetime.now(UTC).isoformat(),
            total=len(files),
            items=[JobItem(name=f.name) for f in files],
        )
        self._forget_old()
        self._jobs[job_id] = job
        self._tasks[job_id] = asyncio.create_task(self._run(job, files, owned_dir), name=f"job-{job_id}")
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    @property
    def running(self) -> int:
        return sum(1 for task in self._tasks.values() if not task.done())

    async def aclose(self) -> None:
        """Cancel unfinished jobs (at shutdown) and wait for them to stop."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _run(self, job: Job, files: list[Path], owned_dir: Path | None) -> None:
        job.status = "running"
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(item: JobItem, path: Path) -> None:
            async with semaphore:
                await self._process(job, item, path)

        try:
            await asyncio.gather(*(one(item, path) for item, path in zip(job.items, files, strict=True)))
            job.status = "done"
        except asyncio.CancelledError:
            job.status = "cancelled"
            raise
        finally:
            job.finished_at = datetime.now(UTC).isoformat()
            if owned_dir is not None:
                shutil.rmtree(owned_dir, ignore_errors=True)
            log.info(
                "job %s %s: %d done, %d failed of %d", job.id, job.status, job.done, job.failed, job.total
            )

    async def _process(self, job: Job, item: JobItem, path: Path) -> None:
        try:
            data = await asyncio.to_thread(path.read_bytes)
            image = await check_image_async(data, self.max_bytes, self.max_pixels)
        except (OSError, ImageRejected) as exc:
            item.status, item.error = "failed", public_text(str(exc))
            job.failed += 1
            return
        if job.use_gemini:
            result = await self.recognition.compare(image)
            item.local, item.gemini, item.agreement = result.local, result.gemini, result.agreement
        else:
            item.local = await self.recognition.predict(image, use_gemini=False)
        item.status = "done"
        job.done += 1

    def _forget_old(self) -> None:
        finished = [job_id for job_id, task in self._tasks.items() if task.done()]
        for job_id in finished[: max(0, len(finished) - _KEEP_FINISHED)]:
            self._tasks.pop(job_id)
            self._jobs.pop(job_id)


def folder_images(folder: str, root: Path | None, limit: int) -> list[Path]:
    """The photos of a folder job: `folder` must lie under the jobs input root (refused otherwise)."""
    if root is None:
        raise ApiError(403, "folder_jobs_off", "folder jobs are off: set AGRORISK_BACKEND_JOBS_INPUT_ROOT")
    base = root.resolve()
    target = (base / folder).resolve()
    if not target.is_relative_to(base):
        raise ApiError(422, "invalid_request", "the folder must be inside the jobs input root")
    if not target.is_dir():
        raise ApiError(404, "not_found", f"no folder {folder!r} under the jobs input root")
    try:
        return images_in(target, limit)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None


def images_in(folder: Path, limit: int) -> list[Path]:
    """The photos in a folder (recursively, sorted); raises ValueError when there are none or too many."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder.name}")
    if len(files) > limit:
        raise ValueError(f"{len(files)} images in the folder; a job takes at most {limit}")
    return files
