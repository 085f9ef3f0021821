"""Safe decoding of untrusted uploads: real type, size and pixel limits, EXIF rotation."""

import io

import pytest
from PIL import Image

from agrorisk_common.images import decode_image, encode_jpeg, sniff_mime_type


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_valid_jpeg_decodes_to_rgb():
    data = encode_jpeg(Image.new("L", (40, 30), 128))
    decoded = decode_image(data)
    assert (decoded.width, decoded.height, decoded.mime_type) == (40, 30, "image/jpeg")
    assert decoded.image.mode == "RGB"


def test_text_named_jpg_is_415():
    with pytest.raises(Exception) as info:
        decode_image(b"hello, I am not an image" * 10)
    assert info.value.status == 415 and info.value.kind == "not_an_image"
    assert sniff_mime_type(b"<html></html>") is None


def test_file_over_the_byte_limit_is_413():
    with pytest.raises(Exception) as info:
        decode_image(_png(10, 10) + b"\0" * 2000, max_bytes=1000)
    assert info.value.status == 413 and info.value.kind == "too_large"


def test_decompression_bomb_is_413_before_decoding():
    bomb = _png(20000, 20000)  # compresses to a few hundred KB
    assert len(bomb) < 2_000_000
    with pytest.raises(Exception) as info:
        decode_image(bomb, max_pixels=50_000_000)
    assert info.value.status == 413 and "400 MP" in str(info.value)


def test_truncated_jpeg_is_422():
    data = encode_jpeg(Image.effect_noise((200, 200), 50).convert("RGB"))
    with pytest.raises(Exception) as info:
        decode_image(data[: len(data) // 2])
    assert info.value.status == 422 and info.value.kind == "corrupt"


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (60, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    decoded = decode_image(buffer.getvalue())
    assert (decoded.width, decoded.height) == (20, 60)


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_big_photo_is_decoded_reduced_but_keeps_its_own_size(kind):
    buffer = io.BytesIO()
    Image.effect_noise((3000, 2000), 40).convert("RGB").save(buffer, format=kind)
    decoded = decode_image(buffer.getvalue(), max_side=1000)
    assert (decoded.width, decoded.height) == (3000, 2000)
    assert decoded.reduced and max(decoded.image.size) <= 1000 and decoded.image.mode == "RGB"
    assert decoded.image.width / decoded.image.height == pytest.approx(1.5, abs=0.01)
    small = decode_image(_png(800, 600), max_side=1000)
    assert not small.reduced and small.image.size == (800, 600)


def test_reduced_rotated_photo_reports_its_upright_size():
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (2400, 1200), (0, 90, 0)).save(buffer, format="JPEG", exif=exif)
    decoded = decode_image(buffer.getvalue(), max_side=600)
    assert (decoded.width, decoded.height) == (1200, 2400)
    assert decoded.image.size == (300, 600)


def test_truncated_big_png_is_422_on_the_reduced_path():
    buffer = io.BytesIO()
    Image.effect_noise((3000, 2400), 40).convert("RGB").save(buffer, format="PNG")
    with pytest.raises(Exception) as info:
        decode_image(buffer.getvalue()[: len(buffer.getvalue()) // 2], max_side=1000)
    assert info.value.status == 422 and info.value.kind == "corrupt"
