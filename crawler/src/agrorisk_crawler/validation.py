"""Is a downloaded file a usable photo? Decode it, check its real type and size, hash it.

Storage rule: JPEG, PNG and WebP are stored as downloaded, byte for byte (no quality loss, the
name is the SHA-256 of exactly what the host served); BMP, GIF and TIFF are re-encoded once as
PNG (lossless) so every stored file is a type that YOLO, Label Studio and browsers all read.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import imagehash

from agrorisk_common.images import ImageRejected, decode_image

STORED_AS_IS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class Rejected(ValueError):
    """A downloaded file is not kept; `reason` is a short stable code counted in the summary."""

    def __init__(self, reason: str, message: str = ""):
        self.reason = reason
        super().__init__(message or reason)


@dataclass(frozen=True)
class ValidImage:
    data: bytes  # the bytes to store
    ext: str
    sha256: str
    phash: str  # 16 hex digits
    width: int
    height: int


def validate_image(data: bytes, min_side: int, max_bytes: int, max_pixels: int) -> ValidImage:
    """The image to store, or Rejected with reason empty, too_large, not_an_image, too_many_pixels,
    corrupt (truncated or undecodable) or too_small."""
    try:
        decoded = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
    except ImageRejected as exc:
        raise Rejected(exc.kind, str(exc)) from None
    if min(decoded.width, decoded.height) < min_side:
        raise Rejected("too_small", f"{decoded.width}x{decoded.height} is below {min_side} px")
    if decoded.mime_type in STORED_AS_IS:
        stored, ext = data, STORED_AS_IS[decoded.mime_type]
    else:
        buffer = io.BytesIO()
        decoded.image.save(buffer, format="PNG")
        stored, ext = buffer.getvalue(), "png"
    return ValidImage(
        data=stored,
        ext=ext,
        sha256=hashlib.sha256(stored).hexdigest(),
        phash=str(imagehash.phash(decoded.image)),
        width=decoded.width,
        height=decoded.height,
    )
