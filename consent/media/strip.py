"""Publishable copies: an image with every metadata block removed and its pixels untouched.

A photo carries far more than its pixels: EXIF (camera serial, date, GPS position), XMP (editing
history, sometimes a name), IPTC (captions, keywords, bylines), comments, C2PA manifests, and
embedded previews and thumbnails that show the picture as it was *before* it was cropped or
masked. None of it may reach a publication. The copy is rewritten at the container level, never
re-encoded, so its pixels decode exactly as the original's do.

What is kept, and why (everything not listed is dropped):

- JPEG: the frame, tables, scans and restart markers; APP0 JFIF without its thumbnail (density
  only); APP2 ICC_PROFILE and APP14 Adobe. The colour profile says how to display the pixels
  (dropping a Display P3 or Adobe RGB profile shifts every colour), and the Adobe marker says how
  to decode them (CMYK/YCCK inversion, colour transform): neither says anything about the patient
  or the device. Everything after the first EOI (MPF secondary images, depth and gain maps,
  "motion photo" videos) is dropped.
- PNG: the chunks that define the image and its colours (IHDR, PLTE, IDAT, IEND, tRNS, gAMA,
  cHRM, sRGB, iCCP, cICP, mDCv, cLLi, sBIT, pHYs, bKGD, hIST) and APNG's animation chunks.
  tEXt, zTXt, iTXt, eXIf, tIME and any private chunk are dropped.
- WebP: the bitstream (VP8, VP8L, ALPH, ANIM, ANMF) and ICCP; EXIF, XMP and unknown chunks are
  dropped and the VP8X flags rewritten to match.

One datum of EXIF is kept when it is not the default: the orientation. A phone saves a portrait
photo as landscape pixels plus "rotate 90°"; without the tag the copy would be published on its
side, and rotating the pixels instead would mean re-encoding. It is written as a new EXIF block
holding that single tag, nothing copied from the original's.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from consent.errors import InvalidInput

EXIF_ORIENTATION = 0x0112  # EXIF 2.32, table 4 (TIFF tag 274)


def strip_metadata(data: bytes, media_type: str) -> bytes:
    """The image's bytes with every metadata block removed; pixels untouched.

    Deterministic, and a fixed point: stripping a stripped copy gives the same bytes.
    Raises InvalidInput for a type it cannot strip or a file whose structure is broken.
    """
    orientation = _orientation(data)
    if media_type == "image/jpeg":
        return _strip_jpeg(data, orientation)
    if media_type == "image/png":
        return _strip_png(data, orientation)
    if media_type == "image/webp":
        return _strip_webp(data, orientation)
    raise InvalidInput(f"Metadata can only be removed from images, not from {media_type}.")


def _orientation(data: bytes) -> int:
    try:
        with Image.open(io.BytesIO(data)) as image:
            value = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # an unreadable EXIF block is dropped like any other
        return 1
    return value if isinstance(value, int) and 2 <= value <= 8 else 1


def orientation_exif(orientation: int) -> bytes:
    """A little-endian TIFF structure with one IFD holding one tag: the orientation."""
    return (
        b"II*\x00"
        + struct.pack("<I", 8)  # offset of IFD0
        + struct.pack("<H", 1)  # one entry
        + struct.pack("<HHIHH", EXIF_ORIENTATION, 3, 1, orientation, 0)  # SHORT, count 1
        + struct.pack("<I", 0)  # no next IFD
    )


# --- JPEG (ITU-T T.81 annex B; JFIF 1.02; EXIF 2.32 section 4.5.4) ---------------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length
_APP0, _APP2, _APP14, _COM = 0xE0, 0xE2, 0xEE, 0xFE


def _strip_jpeg(data: bytes, orientation: int) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise InvalidInput("The JPEG does not start with its SOI marker.")
    out = [b"\xff\xd8"]
    if orientation != 1:
        exif = b"Exif\x00\x00" + orientation_exif(orientation)
        out.append(b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif)
    position = 2
    size = len(data)
    while True:
        # Fill bytes (0xFF runs) may precede a marker (B.1.1.2).
        while position < size and data[position] == 0xFF and position + 1 < size:
            if data[position + 1] != 0xFF:
                break
            position += 1
        if position + 2 > size or data[position] != 0xFF:
            raise InvalidInput("The JPEG is damaged: a marker was expected.")
        marker = data[position + 1]
        if marker == _EOI:
            out.append(b"\xff\xd9")
            return b"".join(out)  # anything after the first EOI is another file
        if marker in _STANDALONE:
            out.append(data[position : position + 2])
            position += 2
            continue
        if position + 4 > size:
            raise InvalidInput("The JPEG is truncated.")
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if length < 2 or end > size:
            raise InvalidInput("The JPEG is damaged: a segment runs past the end.")
        segment = data[position:end]
        payload = segment[4:]
        if marker == _APP0:
            if payload.startswith(b"JFIF\x00") and len(payload) >= 14:
                # Identifier, version, units, densities; thumbnail size set to 0x0.
                jfif = payload[:12] + b"\x00\x00"
                out.append(b"\xff\xe0" + struct.pack(">H", len(jfif) + 2) + jfif)
        elif marker == _APP2:
            if payload.startswith(b"ICC_PROFILE\x00"):
                out.append(segment)
        elif marker == _APP14:
            if payload.startswith(b"Adobe") and len(payload) == 12:
                out.append(segment)
        elif 0xE0 <= marker <= 0xEF or marker == _COM:
            pass  # APP1 EXIF/XMP, APP13 IPTC, APP11 C2PA, ... and comments
        else:
            out.append(segment)
        position = end
        if marker == _SOS:
            position = _scan_end(data, position)
            out.append(data[end:position])


def _scan_end(data: bytes, position: int) -> int:
    """Where the entropy-coded data that starts at ``position`` ends: the next marker that is
    neither a stuffed 0xFF00 nor a restart marker (B.1.1.5)."""
    size = len(data)
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= size:
            raise InvalidInput("The JPEG is truncated inside a scan.")
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2
        elif following == 0xFF:
            position += 1
        else:
            return position


# --- PNG (ISO/IEC 15948, PNG 3rd edition) ---------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEPT = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"iCCP",
    b"cICP",
    b"mDCv",
    b"cLLi",
    b"sBIT",
    b"pHYs",
    b"bKGD",
    b"hIST",
    b"acTL",
    b"fcTL",
    b"fdAT",
}


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _strip_png(data: bytes, orientation: int) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise InvalidInput("The PNG does not start with its signature.")
    out = [_PNG_SIGNATURE]
    position = len(_PNG_SIGNATURE)
    while True:
        if position + 12 > len(data):
            raise InvalidInput("The PNG is truncated.")
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(data):
            raise InvalidInput("The PNG is damaged: a chunk runs past the end.")
        if kind in _PNG_KEPT:
            out.append(data[position:end])
        if kind == b"IHDR" and orientation != 1:
            out.append(_png_chunk(b"eXIf", orientation_exif(orientation)))
        position = end
        if kind == b"IEND":
            return b"".join(out)


# --- WebP (RFC 9649) ------------------------------------------------------------------------

_WEBP_KEPT = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(data: bytes, orientation: int) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise InvalidInput("The WebP does not start with its RIFF header.")
    chunks: list[tuple[bytes, bytes]] = []
    position = 12
    while position < len(data):
        if position + 8 > len(data):
            raise InvalidInput("The WebP is truncated.")
        kind = data[position : position + 4]
        (length,) = struct.unpack("<I", data[position + 4 : position + 8])
        end = position + 8 + length
        if end > len(data):
            raise InvalidInput("The WebP is damaged: a chunk runs past the end.")
        if kind in _WEBP_KEPT:
            chunks.append((kind, data[position + 8 : end]))
        position = end + (length & 1)  # chunks are padded to even sizes
    if orientation != 1:
        if not chunks or chunks[0][0] != b"VP8X":
            # A simple-format file has no VP8X to announce EXIF: add one (RFC 9649 2.7).
            width, height = _webp_size(data)
            header = struct.pack("<I", 0) + (width - 1).to_bytes(3, "little")
            chunks.insert(0, (b"VP8X", header + (height - 1).to_bytes(3, "little")))
        chunks.append((b"EXIF", orientation_exif(orientation)))
    if chunks and chunks[0][0] == b"VP8X":
        flags = chunks[0][1][0] & ~(_VP8X_EXIF | _VP8X_XMP)
        if orientation != 1:
            flags |= _VP8X_EXIF
        chunks[0] = (b"VP8X", bytes([flags]) + chunks[0][1][1:])
    body = b"".join(
        kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
        for kind, payload in chunks
    )
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def _webp_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return int(width), int(height)
