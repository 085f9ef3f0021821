"""Untrusted upload bytes -> a checked photo the recognisers can read, with its drift features."""

from __future__ import annotations

import asyncio
import io
import re
import threading
import unicodedata
import uuid
from dataclasses import dataclass

from PIL import Image

from agrorisk_common.features import image_features
from agrorisk_common.images import DecodedImage, decode_image, encode_jpeg

# Types every recogniser (ONNX pre-processing and Gemini) reads as they are.
_PASS_THROUGH = frozenset({"image/jpeg", "image/png", "image/webp"})
_EXIF_ORIENTATION = 0x0112
# Room for a "00000-" prefix within Linux's 255-byte NAME_MAX, and then some.
MAX_NAME_BYTES = 200
_MAX_SUFFIX_CHARS = 10
_UNSAFE = re.compile(r'[<>:"|?*]')
# Decodes at once: each holds up to one full frame of the upload (147 MB for 49 MP RGB).
MAX_CONCURRENT_DECODES = 2
_DECODES = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)


@dataclass(frozen=True)
class ImageLimits:
    """What an upload may be: bytes and pixels (else 413), and the side it is decoded reduced to."""

    max_bytes: int
    max_pixels: int
    max_side: int


@dataclass(frozen=True)
class CheckedImage:
    decoded: DecodedImage
    model_bytes: bytes  # what is sent to the recognisers: upright, in a type all of them read
    model_mime_type: str
    features: dict[str, float]


def check_image(data: bytes, limits: ImageLimits) -> CheckedImage:
    """Decode and check the upload (raises `ImageRejected` with 413/415/422), rotate it upright
    and compute its features. A photo bigger than `max_side` is decoded reduced and sent on as a
    reduced JPEG (boxes are fractions of the frame, so they hold for the original too).
    At most `MAX_CONCURRENT_DECODES` run at once, so four big uploads cannot hold four frames.
    CPU-bound and memory-bound: call through `check_image_async` from request handlers."""
    with _DECODES:
        decoded = decode_image(data, limits.max_bytes, limits.max_pixels, limits.max_side)
    if decoded.mime_type in _PASS_THROUGH and not decoded.reduced and _upright(data):
        model_bytes, mime = data, decoded.mime_type
    else:
        model_bytes, mime = encode_jpeg(decoded.image), "image/jpeg"
    features = image_features(decoded.image, size=(decoded.width, decoded.height))
    return CheckedImage(decoded, model_bytes, mime, features)


async def check_image_async(data: bytes, limits: ImageLimits) -> CheckedImage:
    return await asyncio.to_thread(check_image, data, limits)


def _upright(data: bytes) -> bool:
    """True when the file carries no EXIF rotation, so its pixels are already the way people see it."""
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif().get(_EXIF_ORIENTATION, 1) == 1


def safe_file_name(name: str | None, fallback_stem: str | None = None) -> str:
    """An upload's file name made safe to write under a folder of ours: Unicode NFC, no control or
    format characters (NUL, bidi overrides), no folders (`../x.jpg` -> `x.jpg`), no leading dots,
    the stem capped at `MAX_NAME_BYTES` of UTF-8 (cut on a character boundary) with the extension
    kept; a name with nothing left becomes `fallback_stem` (default: a random one) plus the
    extension. Every place that saves an upload under its given name goes through this function."""
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = re.split(r"[/\\]", text)[-1]
    text = re.sub(r"\.{2,}", ".", _UNSAFE.sub("_", text)).strip()
    stem, dot, suffix = text.rpartition(".")
    if not dot or not suffix.isalnum() or len(suffix) > _MAX_SUFFIX_CHARS:
        stem, suffix = text, ""
    stem = stem.strip(". ")
    extension = f".{suffix}" if suffix else ""
    room = MAX_NAME_BYTES - len(extension.encode())
    stem = stem.encode()[:room].decode("utf-8", errors="ignore").rstrip(". ")
    return (stem or fallback_stem or f"upload-{uuid.uuid4().hex[:12]}") + extension
