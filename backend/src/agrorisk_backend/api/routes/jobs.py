"""POST /v1/jobs and GET /v1/jobs/{id}: many photos, processed off the request path."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from fastapi import APIRouter, File, Form, HTTPException, UploadFile

from agrorisk_backend.api.deps import ServicesDep, read_upload
from agrorisk_backend.services.jobs import Job, images_in

router = APIRouter(prefix="/v1", tags=["jobs"])


@router.post("/jobs", response_model=Job, status_code=202, summary="Start a batch job")
async def start_job(
    services: ServicesDep,
    files: list[UploadFile] = File(default=[], description="photos to recognise"),
    folder: str | None = Form(
        default=None, description="instead of files: a folder under the jobs input root"
    ),
    use_gemini: bool = Form(default=False, description="also ask Gemini and compare"),
) -> Job:
    """Answers at once with the job id; poll GET /v1/jobs/{id} for progress and results."""
    settings, jobs = services.settings, services.jobs
    if bool(files) == bool(folder):
        raise HTTPException(422, "give either files or a folder, not both and not neither")
    if folder:
        paths = await asyncio.to_thread(
            _folder_images, folder, settings.jobs_input_root, settings.jobs_max_images
        )
        job_id, _ = jobs.upload_dir()
        return jobs.start(job_id, paths, use_gemini)
    if len(files) > settings.jobs_max_images:
        raise HTTPException(413, f"{len(files)} files; a job takes at most {settings.jobs_max_images}")
    job_id, work_dir = jobs.upload_dir()
    try:
        paths = [await _save(upload, n, work_dir, services) for n, upload in enumerate(files)]
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return jobs.start(job_id, paths, use_gemini, owned_dir=work_dir)


@router.get("/jobs/{job_id}", response_model=Job, summary="A job's status, progress and results")
async def get_job(job_id: str, services: ServicesDep) -> Job:
    job = services.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (jobs live in memory and end with the server)")
    return job


async def _save(upload: UploadFile, n: int, work_dir: Path, services: ServicesDep) -> Path:
    """Write one upload to the job folder; the photo itself is checked when the job reaches it."""
    data = await read_upload(upload, services)
    name = Path(upload.filename or f"image-{n}").name or f"image-{n}"
    path = work_dir / f"{n:05d}-{name}"
    await asyncio.to_thread(path.write_bytes, data)
    return path


def _folder_images(folder: str, root: Path | None, limit: int) -> list[Path]:
    if root is None:
        raise HTTPException(403, "folder jobs are off: set AGRORISK_BACKEND_JOBS_INPUT_ROOT")
    base = root.resolve()
    target = (base / folder).resolve()
    if not target.is_relative_to(base):
        raise HTTPException(422, "the folder must be inside the jobs input root")
    if not target.is_dir():
        raise HTTPException(404, f"no folder {folder!r} under the jobs input root")
    try:
        return images_in(target, limit)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
