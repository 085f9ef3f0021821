"""Bad uploads get clear 4xx answers; fuzzed uploads never get a 5xx."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG file whose header claims width x height pixels (a decompression bomb's shape)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize("route", ["/v1/predict", "/v1/gemini", "/v1/compare"])
def test_text_file_named_jpg_is_415(client, route):
    response = client.post(
        route, files={"file": ("field.jpg", b"just some notes about the field\n" * 20, "image/jpeg")}
    )
    assert response.status_code == 415
    body = response.json()
    assert body["kind"] == "not_an_image" and "not an image" in body["detail"]


def test_50_mb_file_is_413(client):
    big = b"\xff\xd8\xff\xe0" + bytes(50 * 1024 * 1024)
    response = client.post("/v1/compare", files={"file": ("huge.jpg", big, "image/jpeg")})
    assert response.status_code == 413
    body = response.json()
    assert body["kind"] == "too_large" and "limit is 21.0 MB" in body["detail"]


def test_20000_by_20000_png_is_413_before_decoding(client):
    response = client.post(
        "/v1/predict", files={"file": ("bomb.png", png_claiming(20000, 20000), "image/png")}
    )
    assert response.status_code == 413
    body = response.json()
    assert body["kind"] == "too_many_pixels"
    assert "400 MP" in body["detail"] and "limit is 50 MP" in body["detail"]


def test_truncated_jpeg_is_422(client, leaf):
    response = client.post("/v1/predict", files={"file": ("cut.jpg", leaf[:200], "image/jpeg")})
    assert response.status_code == 422
    assert response.json()["kind"] == "corrupt"


def test_missing_file_is_422(client):
    response = client.post("/v1/compare", data={"x": "1"})
    assert response.status_code == 422


def test_rejections_are_counted_in_metrics(client):
    client.post("/v1/predict", files={"file": ("a.jpg", b"not an image at all", "image/jpeg")})
    metrics = client.get("/metrics").text
    assert 'agrorisk_rejected_uploads_total{kind="not_an_image"} 1.0' in metrics


def _image_bytes(draw_format: str, width: int, height: int, mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), 90).save(buffer, format=draw_format)
    return buffer.getvalue()


MAGIC = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP", b"BM", b"GIF89a", b"II*\x00"]
uploads = st.one_of(
    st.binary(max_size=3000),
    st.tuples(st.sampled_from(MAGIC), st.binary(max_size=3000)).map(lambda t: t[0] + t[1]),
    st.builds(
        _image_bytes,
        st.sampled_from(["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"]),
        st.integers(1, 64),
        st.integers(1, 64),
        st.sampled_from(["L", "RGB"]),
    ),
    st.builds(png_claiming, st.integers(1, 60000), st.integers(1, 60000)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=uploads,
    route=st.sampled_from(["/v1/predict", "/v1/compare", "/v1/feedback"]),
    filename=st.text(max_size=40),
    content_type=st.sampled_from(["image/jpeg", "image/png", "text/plain", "application/octet-stream"]),
)
def test_fuzzed_uploads_never_5xx(client, data, route, filename, content_type):
    form = {"verdict": "wrong"} if route == "/v1/feedback" else None
    response = client.post(route, files={"file": (filename or "x", data, content_type)}, data=form)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["detail"]
