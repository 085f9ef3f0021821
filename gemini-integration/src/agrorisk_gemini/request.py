"""Turning a photo and the settings into a `generateContent` request."""

from __future__ import annotations

import io
from collections.abc import Sequence

from google.genai import types
from PIL import Image

from agrorisk_common.images import DecodedImage, encode_jpeg
from agrorisk_gemini.answer import GeminiAnswer
from agrorisk_gemini.settings import GeminiSettings
from agrorisk_gemini.thinking import thinking_config

# Image types Gemini accepts as inline data; others are re-encoded as JPEG.
GEMINI_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
EXIF_ORIENTATION = 0x0112
QUERY_TEXT = "Photo to assess."


def image_part(data: bytes, decoded: DecodedImage) -> types.Part:
    """The photo as inline data, upright: re-encoded when Gemini can't read the type or EXIF rotates it."""
    upright = Image.open(io.BytesIO(data)).getexif().get(EXIF_ORIENTATION, 1) == 1
    if decoded.mime_type in GEMINI_IMAGE_TYPES and upright:
        return types.Part.from_bytes(data=data, mime_type=decoded.mime_type)
    return types.Part.from_bytes(data=encode_jpeg(decoded.image), mime_type="image/jpeg")


def query_contents(examples: Sequence[types.Content], photo: types.Part) -> list[types.Content]:
    """Few-shot turns (if any) followed by the photo to assess."""
    return [*examples, types.Content(role="user", parts=[photo, types.Part(text=QUERY_TEXT)])]


def generation_config(
    settings: GeminiSettings, instruction: str | None, cached_content: str | None
) -> types.GenerateContentConfig:
    """Structured-output config; the instruction goes in the cache instead when one is used."""
    media = (
        types.MediaResolution(f"MEDIA_RESOLUTION_{settings.media_resolution.upper()}")
        if settings.media_resolution != "unspecified"
        else None
    )
    return types.GenerateContentConfig(
        system_instruction=None if cached_content else instruction,
        cached_content=cached_content,
        response_mime_type="application/json",
        response_schema=GeminiAnswer,
        temperature=settings.temperature,
        thinking_config=thinking_config(settings.model, settings.thinking_budget),
        media_resolution=media,
    )
