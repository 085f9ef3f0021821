"""POST /v1/jobs and GET /v1/jobs/{id}: many photos, processed off the request path."""

from __future__ import annotations

import asyncio
import shutil

from fastapi import APIRouter, File, Form, UploadFile

from agrorisk_backend.api.deps import ServicesDep, read_upload
from agrorisk_backend.api.errors import error_responses
from agrorisk_backend.errors import ApiError
from agrorisk_backend.services.job_store import Job
from agrorisk_backend.services.jobs import folder_images

router = APIRouter(prefix="/v1", tags=["jobs"])


@router.post(
    "/jobs",
    response_model=Job,
    status_code=202,
    summary="Start a batch job",
    responses=error_responses(403, 404, 413, 422),
)
async def start_job(
    services: ServicesDep,
    files: list[UploadFile] = File(default=[], description="photos to recognise"),
    folder: str | None = Form(
        default=None, description="instead of files: a folder under the jobs input root"
    ),
    use_gemini: bool = Form(default=False, description="also ask Gemini and compare"),
) -> Job:
    """Answers at once with the queued job; poll GET /v1/jobs/{id} for progress and results. Jobs
    are stored (they survive a backend restart) and run one at a time, oldest first. Uploaded file
    names are made safe before they touch disk (Unicode NFC; folders, `..`, NUL and other control
    characters dropped; length capped); the job's item names are those safe names."""
    settings, jobs = services.settings, services.jobs
    if bool(files) == bool(folder):
        raise ApiError(422, "invalid_request", "give either files or a folder, not both and not neither")
    if folder:
        paths = await asyncio.to_thread(
            folder_images, folder, settings.jobs_input_root, settings.jobs_max_images
        )
        return await jobs.submit(jobs.new_id(), paths, use_gemini)
    if len(files) > settings.jobs_max_images:
        raise ApiError(
            413, "too_many_files", f"{len(files)} files; a job takes at most {settings.jobs_max_images}"
        )
    job_id = jobs.new_id()
    work_dir = jobs.upload_dir(job_id)
    try:
        paths = [
            await jobs.save_upload(work_dir, n, upload.filename, await read_upload(upload, services))
            for n, upload in enumerate(files)
        ]
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return await jobs.submit(job_id, paths, use_gemini, owned_dir=work_dir)


@router.get(
    "/jobs/{job_id}",
    response_model=Job,
    summary="A job's status, progress and results",
    responses=error_responses(404, 422),
)
async def get_job(job_id: str, services: ServicesDep) -> Job:
    """Items fill in as photos finish; `restarts` counts abrupt backend stops the job lived through."""
    job = await services.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    return job
