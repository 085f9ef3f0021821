"""Gemini REST JSON as the stand-in (`agrorisk_devtools.gemini_standin`) writes and reads it: replies, errors, usage and refusals."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from agrorisk_gemini.estimate import image_tokens
from agrorisk_gemini.models import find_model
from agrorisk_gemini.thinking import thinking_refusal

TOKENS_PER_IMAGE = 258
GRPC_INVALID_ARGUMENT = 3
ERROR_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def finding(risk_id: str, box_2d: Sequence[int], confidence: float = 0.9) -> dict[str, Any]:
    """One finding in the response-schema shape."""
    return {"risk_id": risk_id, "confidence": confidence, "box_2d": list(box_2d)}


@dataclass
class FakeReply:
    """One scripted answer: HTTP status, body (dict as JSON, str as is) and a delay before it."""

    status: int = 200
    body: dict[str, Any] | str = field(default_factory=dict)
    delay_s: float = 0.0

    @classmethod
    def answer(
        cls,
        findings: list[dict[str, Any]] | str,
        prompt_tokens: int = 1000,
        candidates_tokens: int = 50,
        delay_s: float = 0.0,
    ) -> FakeReply:
        """A 200 `generateContent` response whose text is `{"findings": …}` (or the given raw text)."""
        text = findings if isinstance(findings, str) else json.dumps({"findings": findings})
        usage = usage_metadata(prompt_tokens, candidates_tokens)
        return cls(200, generate_response(text, usage), delay_s)

    @classmethod
    def malformed(cls) -> FakeReply:
        return cls.answer('{"findings": [{"risk_id": "wheat-leaf-rust", "confid')

    @classmethod
    def error(cls, status: int, message: str = "scripted failure") -> FakeReply:
        """An error in Google's shape: `{"error": {"code", "message", "status"}}`."""
        return cls(status, error_body(status, message))


def usage_metadata(prompt: int, candidates: int, thoughts: int = 0, cached: int = 0) -> dict[str, int]:
    usage = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if cached:
        usage["cachedContentTokenCount"] = cached
    return usage


def generate_response(text: str, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": usage,
        "modelVersion": "fake",
        "responseId": hashlib.sha1(text.encode()).hexdigest()[:16],
    }


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": ERROR_STATUS.get(status, "UNKNOWN")}}


def refusal_of(model_path: str, request: dict[str, Any]) -> str | None:
    """The real API's 400 message for this request's thinking settings, or None (unknown models pass)."""
    model = find_model(model_path)
    thinking = request.get("generationConfig", {}).get("thinkingConfig")
    return thinking_refusal(model, thinking) if model and thinking else None


def image_prompt_tokens(model_path: str, images: Sequence[dict[str, Any]], resolution: str) -> int:
    """Input tokens of these inline images on this model (258 each when the model or image is unknown)."""
    model = find_model(model_path)
    level = resolution.removeprefix("MEDIA_RESOLUTION_").lower() or "unspecified"
    total = 0
    for image in images:
        try:
            size = Image.open(io.BytesIO(decode_inline(image["data"]))).size
        except OSError:
            size = None
        total += image_tokens(model.id, *size, level) if model and size else TOKENS_PER_IMAGE
    return total


def decode_inline(data: str) -> bytes:
    """Bytes of an `inlineData.data` field (the SDK sends URL-safe base64, curl users the standard one)."""
    return base64.b64decode(data.replace("-", "+").replace("_", "/"))


def text_of(content: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in content.get("parts", []))
