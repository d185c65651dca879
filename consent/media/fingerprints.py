"""Fingerprints of media: streamed SHA-256, content type by magic bytes, and 64-bit pHash.

Exact binding is the SHA-256 of the bytes. Re-encoding or resizing changes it; the fallback is a
perceptual hash (pHash, imagehash), always reported as such with its Hamming distance.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import filetype
import imagehash
from PIL import Image, UnidentifiedImageError

from consent.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from consent.media.contents import READ_CHUNK, polyglot_problem, refuse_polyglot
from consent.media.decoding import decode_slot

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/x-matroska")
ACCEPTED_TYPES = IMAGE_TYPES + VIDEO_TYPES
# Pillow formats we decode for the perceptual hash.
# What Pillow raises for a file it cannot decode, or decodes past its limits: all the same
# answer to the caller (damaged or truncated).
UNREADABLE_IMAGE = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombWarning,
    Image.DecompressionBombError,
)
_PIL_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    size: int
    media_type: str
    phash: str | None  # 16 hex digits, images only


def sha256_stream(stream: IO[bytes], *, limit: int) -> tuple[str, int]:
    """SHA-256 and size of a stream read in chunks. Raises PayloadTooLarge past ``limit``."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
        digest.update(chunk)
    return digest.hexdigest(), size


def sniff_type(stream: IO[bytes]) -> str:
    """The media type from the file's first bytes, never its name.

    Raises UnsupportedMediaType for anything that is not an accepted image or video.
    """
    stream.seek(0)
    head = stream.read(8192)
    stream.seek(0)
    kind = filetype.guess(head)
    media_type: str | None = str(kind.mime) if kind else None
    if media_type not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(
            "Only photos (JPEG, PNG, WebP) and videos (MP4, MOV, WebM, MKV) are accepted; "
            f"this file's content is {media_type or 'not recognised'}."
        )
    assert media_type is not None
    return media_type


def perceptual_hash(
    stream: IO[bytes], *, max_pixels: int, max_decoded_pixels: int | None = None
) -> str:
    """64-bit pHash of an image as 16 hex digits.

    Raises InvalidInput for a truncated or undecodable image, or one with more than
    ``max_pixels`` pixels (a decompression bomb is refused before it is decoded);
    PayloadTooLarge when, reduced as far as its format allows, it would still decode more than
    ``max_decoded_pixels``; ServiceBusy when this process decodes as many images as it may.
    """
    with decoded_image(
        stream,
        max_pixels=max_pixels,
        reduce_to=(256, 256),
        max_decoded_pixels=max_decoded_pixels,
    ) as image:
        return str(imagehash.phash(image))


@contextmanager
def decoded_image(
    stream: IO[bytes],
    *,
    max_pixels: int,
    reduce_to: tuple[int, int] | None = None,
    max_decoded_pixels: int | None = None,
    mode: str = "L",
) -> Iterator[Image.Image]:
    """The image in ``stream``, decoded whole (so truncation shows), rewound afterwards.

    Raises InvalidInput for a truncated or undecodable image, one in a format we do not
    fingerprint, or one with more than ``max_pixels`` pixels (a decompression bomb is refused
    before it is decoded). ``reduce_to`` lets JPEG decode at a reduced scale, in ``mode``
    (grey for a perceptual hash, "RGB" for a screen copy); beyond that scale, more than
    ``max_decoded_pixels`` is refused with PayloadTooLarge before the decode.
    The decode holds one of this process's decode slots (consent.media.decoding): ServiceBusy
    when none frees up in time.
    """
    stream.seek(0)
    with (
        decode_slot().held(),
        _decoded(stream, max_pixels, reduce_to, max_decoded_pixels, mode) as image,
    ):
        yield image


@contextmanager
def _decoded(
    stream: IO[bytes],
    max_pixels: int,
    reduce_to: tuple[int, int] | None,
    max_decoded_pixels: int | None,
    mode: str,
) -> Iterator[Image.Image]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                if image.format not in _PIL_FORMATS:
                    raise InvalidInput(f"Images in {image.format} cannot be fingerprinted.")
                width, height = image.size
                if width * height > max_pixels:
                    raise InvalidInput(
                        f"The image is {width}x{height} pixels; the limit is {max_pixels} pixels."
                    )
                if reduce_to is not None:
                    # draft() lets JPEG decode at a reduced scale: pHash only needs 32x32.
                    image.draft(mode, reduce_to)
                decoded = image.size[0] * image.size[1]
                if max_decoded_pixels is not None and decoded > max_decoded_pixels:
                    raise PayloadTooLarge(
                        f"The image is {width}x{height} pixels; a check decodes at most "
                        f"{max_decoded_pixels} pixels of a {image.format} image. Send a "
                        "smaller copy, or the file's SHA-256 (GET /api/v1/verify)."
                    )
                image.load()
                yield image
    except UNREADABLE_IMAGE as exc:
        raise InvalidInput("The image is damaged or truncated and cannot be read.") from exc
    finally:
        stream.seek(0)


def image_format(stream: IO[bytes], *, max_pixels: int) -> str:
    """The media type of a whole, decodable image. Raises InvalidInput as ``decoded_image``."""
    with decoded_image(stream, max_pixels=max_pixels) as image:
        return _PIL_FORMATS[str(image.format)]


def fingerprint(
    stream: IO[bytes], *, limit: int, max_pixels: int, max_decoded_pixels: int | None = None
) -> Fingerprint:
    """Everything the service binds a media item by. Raises as the functions above.

    ``max_decoded_pixels``: the routes that only compare (verify, the public file check) decode
    reduced and refuse what would still decode larger (see ``decoded_image``).
    """
    media_type = sniff_type(stream)
    if media_type in _PIL_FORMATS.values() and isinstance(stream, io.BytesIO):
        return _image_in_memory(
            stream,
            media_type,
            limit=limit,
            max_pixels=max_pixels,
            max_decoded_pixels=max_decoded_pixels,
        )
    sha256, size = sha256_stream(stream, limit=limit)
    if size == 0:
        raise InvalidInput("The file is empty.")
    # Every accepted type, videos too: a browser that sniffs a video's bytes would run a page
    # hidden after its header just as one hidden in a photo.
    refuse_polyglot(stream, media_type)
    phash = None
    if media_type in _PIL_FORMATS.values():
        phash = perceptual_hash(
            stream, max_pixels=max_pixels, max_decoded_pixels=max_decoded_pixels
        )
    stream.seek(0)
    return Fingerprint(sha256, size, media_type, phash)


def _image_in_memory(
    stream: io.BytesIO,
    media_type: str,
    *,
    limit: int,
    max_pixels: int,
    max_decoded_pixels: int | None,
) -> Fingerprint:
    """``fingerprint`` of an image held in memory (an upload, see consent.web.uploads).

    The decode for the pHash is most of the time (30 ms of a 12 MP photo) and runs without the
    GIL; the SHA-256 and the polyglot scan (6 ms) run beside it on a helper thread, over the
    same bytes, so that a photo costs the service about what its decode costs. The checks and
    their errors stay in the order of the sequential path: size, polyglot, then the decode.
    """
    with stream.getbuffer() as data, ThreadPoolExecutor(1) as helper:
        size = data.nbytes
        if size > limit:
            raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
        checked = helper.submit(_digest_and_polyglot, data, media_type)
        try:
            phash = perceptual_hash(
                stream, max_pixels=max_pixels, max_decoded_pixels=max_decoded_pixels
            )
        except (InvalidInput, PayloadTooLarge):
            checked.result()  # a polyglot's error comes first, as it does in sequence
            raise
        sha256 = checked.result()
    stream.seek(0)
    return Fingerprint(sha256, size, media_type, phash)


def _digest_and_polyglot(data: memoryview, media_type: str) -> str:
    problem = polyglot_problem([data], media_type)
    if problem:
        raise InvalidInput(problem)
    return hashlib.sha256(data).hexdigest()


def hamming(a: str, b: str) -> int:
    """Bits that differ between two 64-bit hashes in hex."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def bands(phash: str) -> list[tuple[int, int]]:
    """The eight (band, byte) pairs of a pHash, for the band index."""
    raw = bytes.fromhex(phash)
    return list(enumerate(raw))
