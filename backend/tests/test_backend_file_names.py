"""`safe_file_name`: every uploaded name is made safe before it touches disk."""

from __future__ import annotations

import unicodedata

import pytest

from agrorisk_backend.services.uploads import MAX_NAME_BYTES, safe_file_name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("leaf.jpg", "leaf.jpg"),
        ("../x.jpg", "x.jpg"),
        ("..\\..\\windows\\x.png", "x.png"),
        ("/etc/passwd", "passwd"),
        ("le\x00af.jpg", "leaf.jpg"),
        ("a\nb\tc\u202e.jpg", "abc.jpg"),  # control and bidi-override characters go
        ("..", "image-0"),
        ("", "image-0"),
        (None, "image-0"),
        (".hidden.jpg", "hidden.jpg"),
        (".jpg", "image-0.jpg"),
        ("a..b.jpg", "a.b.jpg"),
        ('what?<>"|*.jpg', "what______.jpg"),
        ("фото поля.JPG", "фото поля.JPG"),
        ("notes.tar.gz", "notes.tar.gz"),
        ("x.reallylongextension", "x.reallylongextension"),
    ],
)
def test_names_are_made_safe(given, expected):
    assert safe_file_name(given, "image-0") == expected


def test_long_names_are_cut_on_a_character_boundary_and_keep_the_extension():
    for name in ("a" * 296 + ".jpg", "ж" * 130 + ".jpg", "🌾" * 100 + ".webp"):
        safe = safe_file_name(name)
        assert len(safe.encode()) <= MAX_NAME_BYTES
        assert safe.endswith((".jpg", ".webp")) and safe[:-5].strip(".")
        safe.encode().decode()  # valid UTF-8: no half character


def test_names_are_nfc_normalised():
    decomposed = unicodedata.normalize("NFD", "й.jpg")
    assert safe_file_name(decomposed) == unicodedata.normalize("NFC", "й.jpg")


def test_a_name_with_nothing_left_gets_a_generated_one():
    first, second = safe_file_name("\x00\x01.jpg"), safe_file_name("../")
    assert first.startswith("upload-") and first.endswith(".jpg") and second.startswith("upload-")
    assert first[:-4] != second
