"""Safe image decoding: size and pixel limits, real type check by magic bytes, EXIF orientation."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000

# Magic bytes of the image types we accept, and the MIME type each one is.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"WEBP", 8, "image/webp"),
    (b"BM", 0, "image/bmp"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
)
ACCEPTED_MIME_TYPES = frozenset(mime for _, _, mime in _SIGNATURES)
_EXIF_ORIENTATION = 0x0112
_SWAPS_AXES = frozenset({5, 6, 7, 8})  # EXIF orientations that turn the photo by 90 degrees
_CV_REDUCED = {2: 16, 4: 32, 8: 64}  # cv2.IMREAD_REDUCED_COLOR_2/4/8 (OpenCV is imported lazily)


class ImageRejected(ValueError):
    """The bytes are not an acceptable image. `kind` is a stable reason code; `status` an HTTP code."""

    def __init__(self, kind: str, message: str, status: int = 422):
        self.kind, self.status = kind, status
        super().__init__(message)


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, EXIF orientation applied; smaller than width x height when reduced
    mime_type: str
    width: int  # the photo's upright size, as people see it
    height: int
    n_bytes: int

    @property
    def reduced(self) -> bool:
        """True when `image` was decoded smaller than the photo (`decode_image(max_side=...)`)."""
        return self.image.size != (self.width, self.height)


def sniff_mime_type(data: bytes) -> str | None:
    """The MIME type from the magic bytes, or None when it is no image type we accept."""
    for magic, offset, mime in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic and (mime != "image/webp" or data[:4] == b"RIFF"):
            return mime
    return None


def decode_image(
    data: bytes,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int | None = None,
) -> DecodedImage:
    """Decode untrusted bytes into an RGB image, or raise ImageRejected with a clear reason.

    Checks, in order: empty, size (413), real type by magic bytes (415), pixel count before
    decoding (413, decompression bombs), full decode (422, truncated/corrupt). Applies EXIF rotation.
    With `max_side`, a bigger photo is reduced while it is decoded (JPEG: libjpeg's own scaling;
    PNG: OpenCV's reduced decode, 3 bytes a pixel where Pillow holds 4; other types: reduced right
    after the decode), so memory stays near one decoded frame or far below;
    `width`/`height` still say the photo's own size.
    """
    if not data:
        raise ImageRejected("empty", "the file is empty", 422)
    if len(data) > max_bytes:
        raise ImageRejected(
            "too_large", f"the file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB", 413
        )
    mime = sniff_mime_type(data)
    if mime is None:
        raise ImageRejected(
            "not_an_image", "the file is not an image (JPEG, PNG, WebP, BMP, GIF or TIFF expected)", 415
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRejected(
                    "too_many_pixels",
                    f"the image is {width}x{height} = {width * height / 1e6:.0f} MP; the limit is "
                    f"{max_pixels / 1e6:.0f} MP",
                    413,
                )
            if max_side is not None and mime == "image/png" and max(width, height) >= 2 * max_side:
                image = _png_reduced(data, image, max_side)
            else:
                if max_side is not None:
                    image.draft("RGB", (max_side, max_side))  # JPEG only: decode at 1/2, 1/4 or 1/8
                image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f" ({int(found.group(1)) / 1e6:.0f} MP)" if found else ""
        raise ImageRejected(
            "too_many_pixels",
            f"the image has too many pixels{size}; the limit is {max_pixels / 1e6:.0f} MP",
            413,
        ) from None
    except Exception as exc:  # Pillow raises many types for broken files
        raise ImageRejected("corrupt", f"the image cannot be decoded ({type(exc).__name__})", 422) from None
    if width < 1 or height < 1:
        raise ImageRejected("corrupt", "the image has no pixels", 422)
    if image.getexif().get(_EXIF_ORIENTATION, 1) in _SWAPS_AXES:
        width, height = height, width
    ImageOps.exif_transpose(image, in_place=True)
    if max_side is not None and max(image.size) > max_side:
        image = _reduced(image, max_side)
    image = image if image.mode == "RGB" else image.convert("RGB")
    return DecodedImage(image, mime, width, height, len(data))


def _png_reduced(data: bytes, header: Image.Image, max_side: int) -> Image.Image:
    """The PNG decoded at 1/2, 1/4 or 1/8 of its size (still at least `max_side`), RGB, EXIF applied."""
    import cv2
    import numpy as np

    factor = max(f for f in (2, 4, 8) if max(header.size) // f >= max_side)
    flags = _CV_REDUCED[factor] | cv2.IMREAD_IGNORE_ORIENTATION
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if pixels is None:
        raise ValueError("OpenCV could not decode the PNG")
    image = Image.fromarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))
    if "exif" in header.info:  # an eXIf chunk before the pixels (Pillow's getexif() would decode them all)
        image.info["exif"] = header.info["exif"]
    return image


def _reduced(image: Image.Image, max_side: int) -> Image.Image:
    """`image` within max_side x max_side: an integer box reduction first (its copy is already small,
    and the full frame is freed on return), then a Lanczos resize."""
    factor = max(image.size) // max_side
    if factor > 1:
        image = image.reduce(factor)
    image.thumbnail((max_side, max_side))
    return image


def encode_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    """RGB image as JPEG bytes."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
