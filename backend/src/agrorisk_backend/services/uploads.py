"""Untrusted upload bytes -> a checked photo the recognisers can read, with its drift features."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

from PIL import Image

from agrorisk_common.features import image_features
from agrorisk_common.images import DecodedImage, decode_image, encode_jpeg

# Types every recogniser (ONNX pre-processing and Gemini) reads as they are.
_PASS_THROUGH = frozenset({"image/jpeg", "image/png", "image/webp"})
_EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class CheckedImage:
    decoded: DecodedImage
    model_bytes: bytes  # what is sent to the recognisers: upright, in a type all of them read
    model_mime_type: str
    features: dict[str, float]


def check_image(data: bytes, max_bytes: int, max_pixels: int) -> CheckedImage:
    """Decode and check the upload (raises `ImageRejected` with 413/415/422), rotate it upright
    and compute its features. CPU-bound: call through `check_image_async` from request handlers."""
    decoded = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    if decoded.mime_type in _PASS_THROUGH and _upright(data):
        model_bytes, mime = data, decoded.mime_type
    else:
        model_bytes, mime = encode_jpeg(decoded.image), "image/jpeg"
    return CheckedImage(decoded, model_bytes, mime, image_features(decoded.image))


async def check_image_async(data: bytes, max_bytes: int, max_pixels: int) -> CheckedImage:
    return await asyncio.to_thread(check_image, data, max_bytes, max_pixels)


def _upright(data: bytes) -> bool:
    """True when the file carries no EXIF rotation, so its pixels are already the way people see it."""
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif().get(_EXIF_ORIENTATION, 1) == 1
