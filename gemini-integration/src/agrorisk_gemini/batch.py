"""Batch mode: many photos in one Gemini Batch API job, billed at the batch discount.

Jobs take minutes to hours on the real service; use them for evaluation runs and auto-labelling,
not for a person waiting on a photo.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from google.genai import errors, types

from agrorisk_common.detection import Prediction
from agrorisk_gemini.client import TRANSPORT_ERRORS, GeminiDetector, GeminiResult, PreparedRequest
from agrorisk_gemini.pricing import CostMode

log = logging.getLogger(__name__)

# Inline batch requests must stay under 20 MB; photos are base64 (4/3) in JSON, so keep a margin.
MAX_INLINE_BYTES = 12 * 1024 * 1024
DONE_STATES = {
    types.JobState.JOB_STATE_SUCCEEDED,
    types.JobState.JOB_STATE_FAILED,
    types.JobState.JOB_STATE_CANCELLED,
    types.JobState.JOB_STATE_EXPIRED,
}


def _chunks(images: Mapping[str, bytes]) -> list[list[str]]:
    """Image keys grouped so each job's inline payload stays under the limit."""
    chunks: list[list[str]] = [[]]
    size = 0
    for key, data in images.items():
        if chunks[-1] and size + len(data) > MAX_INLINE_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(key)
        size += len(data)
    return [c for c in chunks if c]


async def predict_batch(
    detector: GeminiDetector,
    images: Mapping[str, bytes],
    on_done: Callable[[int], None] = lambda _n: None,
) -> dict[str, GeminiResult]:
    """Predict every photo through Batch API jobs; a failed job or item becomes a Prediction error."""
    results: dict[str, GeminiResult] = {}
    prepared: dict[str, PreparedRequest] = {}
    for key, data in images.items():
        request = await detector.prepare(data)
        if isinstance(request, Prediction):
            results[key] = GeminiResult(prediction=request)
            on_done(1)
        else:
            prepared[key] = request
    for keys in _chunks({k: images[k] for k in prepared}):
        for key, result in (await _run_job(detector, {k: prepared[k] for k in keys})).items():
            results[key] = result
        on_done(len(keys))
    return results


async def _run_job(
    detector: GeminiDetector, prepared: Mapping[str, PreparedRequest]
) -> dict[str, GeminiResult]:
    client, settings = detector.genai_client, detector.settings
    requests = [
        types.InlinedRequest(contents=p.contents, config=p.config, metadata={"key": key})
        for key, p in prepared.items()
    ]

    def fail_all(message: str) -> dict[str, GeminiResult]:
        return {key: GeminiResult(detector.failed(message)) for key in prepared}

    try:
        job = await client.aio.batches.create(
            model=settings.model, src=requests, config={"display_name": "agrorisk-gemini"}
        )
        if job.name is None:
            return fail_all("Gemini batch job was created without a name to poll")
        name = job.name
        log.info("Gemini batch job %s submitted with %d photos", name, len(requests))
        while job.state not in DONE_STATES:
            await asyncio.sleep(settings.batch_poll_s)
            job = await client.aio.batches.get(name=name)
    except (errors.APIError, *TRANSPORT_ERRORS) as exc:
        return fail_all(f"Gemini batch job failed: {exc}")
    if job.state != types.JobState.JOB_STATE_SUCCEEDED or not job.dest or not job.dest.inlined_responses:
        return fail_all(f"Gemini batch job {name} ended {job.state}")
    results = {}
    # Responses come back in request order; metadata echoes our key when the service keeps it.
    for key, item in zip(prepared, job.dest.inlined_responses, strict=False):
        key = (item.metadata or {}).get("key", key)
        if item.response is None:
            results[key] = GeminiResult(detector.failed(f"Gemini batch item failed: {item.error}"))
        else:
            results[key] = detector.read_response(item.response, prepared[key], CostMode.BATCH)
    for key in prepared.keys() - results.keys():
        results[key] = GeminiResult(detector.failed("Gemini batch job returned no answer for this photo"))
    return results
