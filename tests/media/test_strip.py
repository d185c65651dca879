"""Publishable copies (consent/media/strip.py): every metadata block gone, pixels unchanged."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from consent.errors import InvalidInput
from consent.media.strip import EXIF_ORIENTATION, strip_metadata
from tests.factories import PLANTED, photo, tagged_image

MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# What a metadata block starts with, in each container.
MARKERS = [
    b"Exif\x00\x00",
    b"http://ns.adobe.com/xap/",
    b"<x:xmpmeta",
    b"Photoshop 3.0",
    b"8BIM",
    b"\xff\xfe",  # JPEG COM (never in entropy data: 0xFF there is followed by 0x00 or RSTn)
    b"tEXt",
    b"zTXt",
    b"iTXt",
    b"eXIf",
    b"tIME",
    b"XMP ",
    b"EXIF",
    b"GPS",
]


# Beyond EXIF and XMP: IPTC and a comment in the JPEG, a text chunk in the PNG (its comment is
# compressed, in zTXt, so looked for by chunk type).
CARRIED = {"jpeg": {"iptc", "comment"}, "png": {"text"}, "webp": set()}


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.mode, image.size, image.tobytes()


@pytest.mark.parametrize("kind", ["jpeg", "png", "webp"])
def test_every_metadata_block_is_removed_and_pixels_are_unchanged(kind: str) -> None:
    original = tagged_image(kind)
    carried = {"gps", "exif", "thumbnail", "xmp"} | CARRIED[kind]
    for name in carried:
        assert PLANTED[name] in original, name  # the test image does carry it in the clear
    stripped = strip_metadata(original, MEDIA_TYPES[kind])
    for planted in PLANTED.values():
        assert planted not in stripped
    for marker in MARKERS:
        if kind == "jpeg" and marker == b"\xff\xfe":
            assert not _jpeg_has_segment(stripped, 0xFE)
            continue
        assert marker not in stripped, marker
    assert pixels(stripped) == pixels(original)
    with Image.open(io.BytesIO(stripped)) as image:
        assert dict(image.getexif()) == {}
        assert not image.info.get("xmp")
        assert image.info.get("icc_profile")  # the colour profile is kept (see strip.py)


def _jpeg_has_segment(data: bytes, marker: int) -> bool:
    position = 2
    while position < len(data):
        current = data[position + 1]
        if current == marker:
            return True
        if current in (0xD9, 0xDA):
            return False
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return False


@pytest.mark.parametrize("kind", ["jpeg", "png", "webp"])
def test_stripping_is_deterministic_and_a_fixed_point(kind: str) -> None:
    original = tagged_image(kind)
    once = strip_metadata(original, MEDIA_TYPES[kind])
    assert strip_metadata(original, MEDIA_TYPES[kind]) == once
    assert strip_metadata(once, MEDIA_TYPES[kind]) == once


@pytest.mark.parametrize("kind", ["jpeg", "png", "webp"])
def test_a_rotated_photo_keeps_its_orientation_and_nothing_else(kind: str) -> None:
    original = tagged_image(kind, orientation=6)
    stripped = strip_metadata(original, MEDIA_TYPES[kind])
    with Image.open(io.BytesIO(stripped)) as image:
        assert dict(image.getexif()) == {EXIF_ORIENTATION: 6}
    for planted in PLANTED.values():
        assert planted not in stripped
    assert pixels(stripped) == pixels(original)


def test_jpeg_data_after_the_end_of_the_image_is_dropped() -> None:
    """A second image after EOI (MPF, a depth map, an uncropped preview) is not published."""
    hidden = photo(9, size=(160, 120))
    original = tagged_image("jpeg") + hidden
    stripped = strip_metadata(original, "image/jpeg")
    assert stripped.endswith(b"\xff\xd9") and hidden[100:200] not in stripped
    assert pixels(stripped) == pixels(original)


def test_jfif_thumbnail_is_dropped() -> None:
    data = photo(8, size=(160, 120))
    assert data[2:4] == b"\xff\xe0"
    thumbnail = bytes([2, 2]) + PLANTED["thumbnail"] + b"\x00" * (12 - len(PLANTED["thumbnail"]))
    length = int.from_bytes(data[4:6], "big")
    jfif = data[6 : 6 + length - 2][:12] + thumbnail
    original = data[:4] + (len(jfif) + 2).to_bytes(2, "big") + jfif + data[4 + length :]
    assert pixels(original) == pixels(data)
    stripped = strip_metadata(original, "image/jpeg")
    assert PLANTED["thumbnail"] not in stripped
    assert pixels(stripped) == pixels(data)


def test_progressive_jpeg_with_restart_markers_keeps_every_scan() -> None:
    with Image.open(io.BytesIO(tagged_image("jpeg"))) as image:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", progressive=True, quality=80, comment=b"CommentRoom12Bed4")
    original = buffer.getvalue()
    assert original.count(b"\xff\xda") > 1
    stripped = strip_metadata(original, "image/jpeg")
    assert stripped.count(b"\xff\xda") == original.count(b"\xff\xda")
    assert PLANTED["comment"] not in stripped
    assert pixels(stripped) == pixels(original)


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"\xff\xd8\xff\xe1\xff\xff", "image/jpeg"),  # a segment longer than the file
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 \xff\x00\x00\x00", "image/webp"),
    ],
)
def test_what_cannot_be_stripped_is_refused(data: bytes, media_type: str) -> None:
    with pytest.raises(InvalidInput):
        strip_metadata(data, media_type)
