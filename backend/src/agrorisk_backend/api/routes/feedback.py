"""POST /v1/feedback: a person marks a result right or wrong, or names the right risk."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Form

from agrorisk_backend.api.deps import CheckedUpload, ServicesDep, photo_route, require_same_origin
from agrorisk_backend.errors import ApiError
from agrorisk_backend.services.feedback_store import FeedbackIn, FeedbackRecord

router = APIRouter(prefix="/v1", tags=["feedback"])


@photo_route(
    router,
    "/feedback",
    FeedbackRecord,
    "Give feedback on a result",
    errors=(403, 413, 415, 503),
    status_code=201,
    dependencies=[Depends(require_same_origin)],
)
async def feedback(
    image: CheckedUpload,
    services: ServicesDep,
    verdict: Literal["right", "wrong"] = Form(),
    source: Literal["local", "gemini", "both"] = Form(default="both"),
    risk_id: str | None = Form(default=None, description="the risk the verdict is about"),
    correct_risk_id: str | None = Form(default=None, description="the risk really on the photo"),
    request_id: str | None = Form(default=None, max_length=64),
    comment: str = Form(default="", max_length=2000),
) -> FeedbackRecord:
    """Stored with the photo in the labelling queue, which the pipeline sends to Label Studio."""
    for name, value in (("risk_id", risk_id), ("correct_risk_id", correct_risk_id)):
        if value and value not in services.catalog:
            raise ApiError(422, "invalid_request", f"{name}: unknown risk id {value!r}")
    entry = FeedbackIn(
        verdict=verdict,
        source=source,
        risk_id=risk_id or None,
        correct_risk_id=correct_risk_id or None,
        request_id=request_id or None,
        comment=comment,
    )
    return await services.feedback.save(entry, image.model_bytes, image.model_mime_type)
