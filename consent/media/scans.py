"""Scans of signed paper forms: a PDF, JPEG or PNG, checked by content before it is kept.

The type is sniffed from the bytes, never the file name or the declared type; an image must
decode whole within the pixel limit, and a PDF must be a readable document with at least one
page. A file that is not what it claims is refused before anything is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO

import filetype
from pypdf import PdfReader

from consent.errors import InvalidInput, UnsupportedMediaType
from consent.media.contents import refuse_markup, refuse_polyglot
from consent.media.fingerprints import image_format, sha256_stream

PDF = "application/pdf"
SCAN_TYPES = (PDF, "image/jpeg", "image/png")
# ISO 32000-1 7.5.2 and 7.5.5: a PDF opens with "%PDF-" and its last lines end with "%%EOF".
# Readers look for the marker near the end, not at the very last byte (a newline or padding
# may follow it).
PDF_HEADER = b"%PDF-"
PDF_TRAILER = b"%%EOF"
PDF_TAIL = 1024


@dataclass(frozen=True)
class ScanFingerprint:
    sha256: str
    size: int
    media_type: str


def sniff_scan_type(stream: IO[bytes]) -> str:
    """A scan's media type from its first bytes. Raises UnsupportedMediaType."""
    stream.seek(0)
    head = stream.read(8192)
    stream.seek(0)
    kind = filetype.guess(head)
    media_type: str | None = str(kind.mime) if kind else None
    if media_type not in SCAN_TYPES:
        raise UnsupportedMediaType(
            "Only a scan in PDF, JPEG or PNG is accepted; "
            f"this file's content is {media_type or 'not recognised'}.",
            errors={"scan": ["Scan the signed form as PDF, JPEG or PNG."]},
        )
    assert media_type is not None
    return media_type


def check_pdf(stream: IO[bytes], *, size: int) -> None:
    """Refuse a file that is not a whole, readable, unencrypted PDF with pages.

    Raises InvalidInput.
    """
    stream.seek(0)
    head = stream.read(len(PDF_HEADER))
    stream.seek(max(0, size - PDF_TAIL))
    tail = stream.read(PDF_TAIL)
    stream.seek(0)
    if head != PDF_HEADER or PDF_TRAILER not in tail:
        raise _not_a_pdf("it does not start with %PDF- or end with %%EOF (truncated?)")
    try:
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted:
            raise _not_a_pdf("it is protected by a password")
        pages = len(reader.pages)
    except InvalidInput:
        raise
    # A parser fed untrusted bytes may fail in any way; every failure means "not readable".
    except Exception as exc:
        raise _not_a_pdf("it cannot be read") from exc
    finally:
        stream.seek(0)
    if pages < 1:
        raise _not_a_pdf("it has no pages")


def _not_a_pdf(reason: str) -> InvalidInput:
    return InvalidInput(
        f"The scan is not a readable PDF: {reason}.",
        errors={"scan": ["Scan the signed form again and upload the new file."]},
    )


def fingerprint_scan(stream: IO[bytes], *, limit: int, max_pixels: int) -> ScanFingerprint:
    """Check a scan and compute what binds it (SHA-256, size, type).

    Raises UnsupportedMediaType (not PDF, JPEG or PNG), PayloadTooLarge (over ``limit``
    bytes) or InvalidInput (empty, damaged, truncated, a decompression bomb, a PDF that
    cannot be read).
    """
    media_type = sniff_scan_type(stream)
    sha256, size = sha256_stream(stream, limit=limit)
    if size == 0:
        raise InvalidInput("The scan is empty.", errors={"scan": ["empty"]})
    if media_type == PDF:
        check_pdf(stream, size=size)
        refuse_markup(stream)
    elif image_format(stream, max_pixels=max_pixels) != media_type:
        raise InvalidInput(
            "The scan's content does not match its own type.",
            errors={"scan": ["Scan the signed form again and upload the new file."]},
        )
    else:
        # Decoded first, so that a damaged scan is told so rather than "data after its end".
        refuse_polyglot(stream, media_type)
    stream.seek(0)
    return ScanFingerprint(sha256, size, media_type)


EVIDENCE_TYPES = (*SCAN_TYPES, "application/json")


def fingerprint_evidence(stream: IO[bytes], *, limit: int, max_pixels: int) -> ScanFingerprint:
    """Check the evidence document of a consent collected elsewhere: a PDF, JPEG or PNG as a
    scan is checked, or a JSON document (UTF-8, parsed whole). Raises as ``fingerprint_scan``.
    """
    stream.seek(0)
    first = stream.read(1)
    stream.seek(0)
    if first not in (b"{", b"["):
        return fingerprint_scan(stream, limit=limit, max_pixels=max_pixels)
    sha256, size = sha256_stream(stream, limit=limit)
    stream.seek(0)
    try:
        json.loads(stream.read().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            "The evidence is not a readable document.",
            errors={"evidence": ["Send a PDF, JPEG, PNG or a whole JSON document."]},
        ) from exc
    finally:
        stream.seek(0)
    return ScanFingerprint(sha256, size, "application/json")
