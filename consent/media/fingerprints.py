"""Fingerprints of media: streamed SHA-256, content type by magic bytes, and 64-bit pHash.

Exact binding is the SHA-256 of the bytes. Re-encoding or resizing changes it; the fallback is a
perceptual hash (pHash, imagehash), always reported as such with its Hamming distance.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import filetype
import imagehash
from PIL import Image, UnidentifiedImageError

from consent.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

READ_CHUNK = 1024 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/x-matroska")
ACCEPTED_TYPES = IMAGE_TYPES + VIDEO_TYPES
# Pillow formats we decode for the perceptual hash.
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


def perceptual_hash(stream: IO[bytes], *, max_pixels: int) -> str:
    """64-bit pHash of an image as 16 hex digits.

    Raises InvalidInput for a truncated or undecodable image, or one with more than
    ``max_pixels`` pixels (a decompression bomb is refused before it is decoded).
    """
    with decoded_image(stream, max_pixels=max_pixels, reduce_to=(256, 256)) as image:
        return str(imagehash.phash(image))


@contextmanager
def decoded_image(
    stream: IO[bytes], *, max_pixels: int, reduce_to: tuple[int, int] | None = None
) -> Iterator[Image.Image]:
    """The image in ``stream``, decoded whole (so truncation shows), rewound afterwards.

    Raises InvalidInput for a truncated or undecodable image, one in a format we do not
    fingerprint, or one with more than ``max_pixels`` pixels (a decompression bomb is refused
    before it is decoded). ``reduce_to`` lets JPEG decode at a reduced scale.
    """
    stream.seek(0)
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
                    image.draft("L", reduce_to)
                image.load()
                yield image
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        raise InvalidInput("The image is damaged or truncated and cannot be read.") from exc
    finally:
        stream.seek(0)


def image_format(stream: IO[bytes], *, max_pixels: int) -> str:
    """The media type of a whole, decodable image. Raises InvalidInput as ``decoded_image``."""
    with decoded_image(stream, max_pixels=max_pixels) as image:
        return _PIL_FORMATS[str(image.format)]


def fingerprint(stream: IO[bytes], *, limit: int, max_pixels: int) -> Fingerprint:
    """Everything the service binds a media item by. Raises as the functions above."""
    media_type = sniff_type(stream)
    sha256, size = sha256_stream(stream, limit=limit)
    if size == 0:
        raise InvalidInput("The file is empty.")
    phash = None
    if media_type in _PIL_FORMATS.values():
        refuse_polyglot(stream, media_type)
        phash = perceptual_hash(stream, max_pixels=max_pixels)
    stream.seek(0)
    return Fingerprint(sha256, size, media_type, phash)


# Markers of another kind of file hidden inside an image (a "polyglot": one file that a browser,
# an archive tool or a PDF reader would each open as something else). Long enough that image
# data holds them by chance about once in 2**36 bytes or less.
# Headers of other kinds of files, found anywhere in an image. Binary signatures are matched
# as they are; markup tags in any letter case (browsers read <SCRIPT> as <script>).
_FOREIGN_SIGNATURES = (
    b"%PDF-",
    b"PK\x03\x04\x14\x00",  # a ZIP entry (also Office documents, JARs)
    b"PK\x03\x04\x0a\x00",
)
_FOREIGN_TAGS = (b"<script", b"<html", b"<?php", b"<svg xmlns", b"<!doctype")


def _any_case(tag: bytes) -> bytes:
    """A regex matching ``tag`` in any letter case, as character classes: ``re.IGNORECASE``
    would lose the regex engine's fast search for the literal first byte, ``<``."""
    out = b""
    for byte in tag:
        char = bytes([byte])
        out += b"[" + char.lower() + char.upper() + b"]" if char.isalpha() else re.escape(char)
    return out


_FOREIGN_TAG = re.compile(b"|".join(_any_case(tag) for tag in _FOREIGN_TAGS))
_FOREIGN_OVERLAP = max(len(marker) for marker in (*_FOREIGN_SIGNATURES, *_FOREIGN_TAGS)) - 1
# What ends each image format: nothing may follow it.
_PNG_END = b"IEND\xaeB`\x82"


def refuse_polyglot(stream: IO[bytes], media_type: str) -> None:
    """Refuse an image that carries another file: bytes after its end, or a foreign header.

    Raises InvalidInput. Images only; the stream is rewound.
    """
    stream.seek(0)
    overlap = _FOREIGN_OVERLAP
    tail = b""
    size = 0
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        window = tail + chunk
        if _FOREIGN_TAG.search(window) or any(sig in window for sig in _FOREIGN_SIGNATURES):
            stream.seek(0)
            raise InvalidInput(
                "The image also holds another kind of file (a document, an archive or a page); "
                "send the photo alone."
            )
        tail = (tail + chunk)[-max(overlap, 64) :]
    stream.seek(0)
    end = tail.rstrip(b"\x00")  # some cameras pad with zeros
    ends_well = {
        "image/jpeg": end.endswith(b"\xff\xd9"),
        "image/png": end.endswith(_PNG_END),
        # RIFF's own length field names the file's length.
        "image/webp": _riff_length(stream) == size,
    }.get(media_type, True)
    if not ends_well:
        raise InvalidInput("The image has data after its end; send the photo alone.")


def _riff_length(stream: IO[bytes]) -> int:
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    return int.from_bytes(head[4:8], "little") + 8 if head[:4] == b"RIFF" else -1


def hamming(a: str, b: str) -> int:
    """Bits that differ between two 64-bit hashes in hex."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def bands(phash: str) -> list[tuple[int, int]]:
    """The eight (band, byte) pairs of a pHash, for the band index."""
    raw = bytes.fromhex(phash)
    return list(enumerate(raw))
