"""The tablet's screen copies of photos (issue 21): screen-sized, small, upright, without
metadata, whatever the photo; refused when it is not a decodable photo."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from consent.errors import InvalidInput
from consent.media.screen import SCREEN_LONGEST_SIDE, SCREEN_MAX_BYTES, screen_copy
from tests.factories import photo


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def test_a_photo_with_texture_everywhere_still_fits_the_byte_ceiling() -> None:
    # Full-resolution noise: the worst case for JPEG (gravel, foliage), 2.5 MB as uploaded.
    noise = Image.merge("RGB", [Image.effect_noise((2400, 1800), 80) for _ in range(3)])
    data, media_type = screen_copy(encoded(noise, "JPEG", quality=92), max_pixels=10**8)
    assert media_type == "image/jpeg" and len(data) <= SCREEN_MAX_BYTES
    with Image.open(io.BytesIO(data)) as shown:
        assert max(shown.size) <= SCREEN_LONGEST_SIDE


def test_a_transparent_image_keeps_its_transparency_as_webp() -> None:
    image = Image.new("RGBA", (2000, 1000), (200, 30, 30, 0))
    image.paste((20, 200, 20, 255), (500, 250, 1500, 750))
    data, media_type = screen_copy(encoded(image, "PNG"), max_pixels=10**8)
    assert media_type == "image/webp"
    with Image.open(io.BytesIO(data)) as shown:
        assert shown.size == (1600, 800) and shown.mode == "RGBA"
        assert shown.getpixel((0, 0))[3] == 0 and shown.getpixel((800, 400))[3] == 255


def test_a_small_photo_is_never_enlarged() -> None:
    data, _ = screen_copy(photo(7), max_pixels=10**8)
    with Image.open(io.BytesIO(data)) as shown:
        assert shown.size == (640, 480)


@pytest.mark.parametrize(
    "data",
    [b"not an image", photo(7)[:2000], encoded(Image.new("RGB", (10, 10)), "GIF")],
    ids=["text", "truncated", "gif"],
)
def test_what_is_not_a_whole_photo_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        screen_copy(data, max_pixels=10**8)


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(InvalidInput, match="limit"):
        screen_copy(photo(7, size=(2000, 2000)), max_pixels=1_000_000)
