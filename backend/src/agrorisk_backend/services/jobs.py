"""Batch jobs: many photos through the local model (and optionally Gemini), off the request path.

Jobs live in a `JobStore` (SQLite or PostgreSQL), so a restart loses none. Uploaded photos are written under
`<data_dir>/jobs/<id>/` before the job is queued, folder jobs read a server folder. One worker task
runs the queued jobs one at a time, oldest first, `concurrency` photos of a job at once; each
photo's result is stored as it arrives, so a slow or failing Gemini delays or marks its own half of
an item, never the job. A graceful stop puts the running job back in the queue.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from contextlib import suppress
from pathlib import Path

from agrorisk_backend.errors import ApiError, public_text
from agrorisk_backend.services.job_store import ClaimedJob, Job, JobItem, JobStore
from agrorisk_backend.services.recognition import Recognition
from agrorisk_backend.services.uploads import ImageLimits, check_image_async, safe_file_name
from agrorisk_common.images import ImageRejected

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


class JobManager:
    def __init__(
        self,
        store: JobStore,
        recognition: Recognition,
        work_dir: Path,
        concurrency: int,
        limits: ImageLimits,
    ):
        self.store = store
        self.recognition = recognition
        self.work_dir = work_dir
        self.concurrency = concurrency
        self.limits = limits
        self._wake = asyncio.Event()
        self._worker: asyncio.Task | None = None
        self._current: str | None = None

    async def start(self) -> None:
        """Resume (or fail, past the restart limit) jobs a killed process left running; start the worker."""
        recovery = await asyncio.to_thread(self.store.recover)
        log.info("jobs database: %s", self.store.where)
        for job_id, upload_dir in recovery.failed:
            log.warning("job %s failed: the backend stopped too often while it ran", job_id)
            _remove(upload_dir)
        if recovery.resumed:
            log.info(
                "resuming %d job(s) cut off by the last stop: %s", len(recovery.resumed), recovery.resumed
            )
        self._worker = asyncio.create_task(self._work(), name="job-worker")

    async def aclose(self) -> None:
        """Stop the worker (its running job goes back to the queue) and close the store."""
        if self._worker is not None:
            self._worker.cancel()
            with suppress(asyncio.CancelledError):
                await self._worker
        self.store.close()

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def upload_dir(self, job_id: str) -> Path:
        """The folder a job's uploaded photos go to (removed when the job ends)."""
        folder = self.work_dir / job_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    async def save_upload(self, work_dir: Path, n: int, filename: str | None, data: bytes) -> Path:
        """Write the n-th upload of a job under a safe form of its name (`safe_file_name`); the
        photo itself is checked when the job reaches it."""
        path = work_dir / f"{n:05d}-{safe_file_name(filename, f'image-{n}')}"
        await asyncio.to_thread(path.write_bytes, data)
        return path

    async def submit(
        self, job_id: str, files: list[Path], use_gemini: bool, owned_dir: Path | None = None
    ) -> Job:
        """Queue a job over photos already on disk; `owned_dir` is removed when it ends."""
        photos = [(f.name, f) for f in files]
        job = await asyncio.to_thread(self.store.create, job_id, use_gemini, photos, owned_dir)
        self._wake.set()
        return job

    async def get(self, job_id: str) -> Job | None:
        return await asyncio.to_thread(self.store.get, job_id)

    @property
    def running(self) -> int:
        return int(self._current is not None)

    async def _work(self) -> None:
        while True:
            self._wake.clear()
            claimed = await asyncio.to_thread(self.store.claim_next)
            if claimed is None:
                await self._wake.wait()
                continue
            self._current = claimed.id
            try:
                await self._run(claimed)
            finally:
                self._current = None

    async def _run(self, job: ClaimedJob) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(n: int, path: Path) -> None:
            async with semaphore:
                item = await self._process(job.use_gemini, path)
            await asyncio.to_thread(self.store.save_item, job.id, n, item)

        error = None
        try:
            async with asyncio.TaskGroup() as group:
                for n, path in job.pending:
                    group.create_task(one(n, path))
        except asyncio.CancelledError:
            self.store.requeue(job.id)  # the loop is stopping: a quick write, not a thread
            log.info("job %s back in the queue: the backend is stopping", job.id)
            raise
        except Exception as exc:  # a bug or a broken disk: the job says why instead of hanging
            log.exception("job %s failed", job.id)
            first = exc.exceptions[0] if isinstance(exc, ExceptionGroup) else exc
            error = public_text(f"the job stopped on an error: {first}")
        await asyncio.to_thread(self.store.finish, job.id, error)
        _remove(job.upload_dir)
        log.info("job %s %s", job.id, "done" if error is None else f"failed: {error}")

    async def _process(self, use_gemini: bool, path: Path) -> JobItem:
        item = JobItem(name=path.name)
        try:
            data = await asyncio.to_thread(path.read_bytes)
            image = await check_image_async(data, self.limits)
        except (OSError, ImageRejected) as exc:
            return item.model_copy(update={"status": "failed", "error": public_text(str(exc))})
        if use_gemini:
            result = await self.recognition.compare(image)
            update = {"local": result.local, "gemini": result.gemini, "agreement": result.agreement}
        else:
            update = {"local": await self.recognition.predict(image, use_gemini=False)}
        return item.model_copy(update={"status": "done", **update})


def _remove(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


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
