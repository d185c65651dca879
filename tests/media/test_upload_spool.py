"""Uploads wait in memory when small and on disk when large (consent.web.uploads); the fingerprint
reads either, and gives the same answer for the same bytes, refusals included."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import pytest
from flask import Flask, request
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from consent.errors import ConsentError, InvalidInput, PayloadTooLarge
from consent.media.fingerprints import READ_CHUNK, Fingerprint, fingerprint
from consent.web.uploads import PARSE_BUFFER
from tests.conftest import LiveSettings
from tests.factories import Flow, api_key, photo
from tests.media.test_hostile_uploads import HOSTILE

MAX_PIXELS = 100_000_000


def _with_comments(image: bytes, total: int, marker: bytes = b"", at: int = 0) -> bytes:
    """``image`` (a JPEG) grown to about ``total`` bytes with comment segments of filler, with
    ``marker`` placed so that it starts at byte ``at`` of the file."""
    segments = bytearray()
    while 2 + len(segments) < total - len(image):
        body = bytearray(b"." * min(60_000, total - len(image) - len(segments)))
        start = 2 + len(segments) + 4  # where this segment's body starts in the file
        if marker and start <= at < start + len(body) - len(marker):
            body[at - start : at - start + len(marker)] = marker
        segments += b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body
    return image[:2] + bytes(segments) + image[2:]


def _other_formats() -> Iterator[tuple[str, bytes]]:
    for kind in ("PNG", "WEBP"):
        buffer = io.BytesIO()
        Image.open(io.BytesIO(photo(7))).save(buffer, kind)
        yield kind, buffer.getvalue()


SEAM = READ_CHUNK  # the streaming scan reads 1 MiB at a time
FILES = [
    ("JPEG", photo(8)),
    *_other_formats(),
    ("JPEG past a read chunk", _with_comments(photo(9), SEAM + 200_000)),
    (
        "JPEG hiding a script across a read chunk's edge",
        _with_comments(photo(9), SEAM + 200_000, b"<ScRiPt>", SEAM - 3),
    ),
    (
        "JPEG hiding a ZIP entry across a read chunk's edge",
        _with_comments(photo(9), SEAM + 200_000, b"PK\x03\x04\x14\x00", SEAM - 2),
    ),
    *[(name, make()) for name, file_name, make, status in HOSTILE if status == 422],
]


@contextmanager
def _on_disk(data: bytes) -> Iterator[IO[bytes]]:
    with tempfile.TemporaryFile("w+b") as file:
        file.write(data)
        file.seek(0)
        yield file


def _outcome(stream: IO[bytes], limit: int = 1 << 30) -> Fingerprint | str:
    try:
        return fingerprint(stream, limit=limit, max_pixels=MAX_PIXELS)
    except ConsentError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize(("name", "data"), FILES, ids=[name for name, _ in FILES])
def test_memory_and_disk_give_the_same_fingerprint(name: str, data: bytes) -> None:
    with _on_disk(data) as file:
        in_memory, on_disk = _outcome(io.BytesIO(data)), _outcome(file)
    assert in_memory == on_disk
    if "hiding" in name:
        assert in_memory == (
            "InvalidInput: The file also holds another kind of file (a document, an archive "
            "or a page); send the photo or video alone."
        )
    elif name in {"JPEG", "PNG", "WEBP", "JPEG past a read chunk"}:
        assert isinstance(in_memory, Fingerprint) and in_memory.phash is not None


def test_the_seam_files_are_what_they_claim() -> None:
    padded = _with_comments(photo(9), SEAM + 200_000)
    hiding = _with_comments(photo(9), SEAM + 200_000, b"<ScRiPt>", SEAM - 3)
    assert len(hiding) == len(padded) > SEAM + 100_000
    assert hiding[SEAM - 3 : SEAM + 5] == b"<ScRiPt>"  # split 3 | 5 by the first read
    with Image.open(io.BytesIO(hiding)) as image:
        image.load()  # still a photo to a viewer


def test_a_stream_is_rewound_after_its_fingerprint() -> None:
    with _on_disk(photo(10)) as file:
        for stream in (io.BytesIO(photo(10)), file):
            fingerprint(stream, limit=1 << 30, max_pixels=MAX_PIXELS)
            assert stream.tell() == 0 and stream.read() == photo(10)


def test_too_large_in_memory_is_refused() -> None:
    with pytest.raises(PayloadTooLarge):
        fingerprint(io.BytesIO(photo(11)), limit=1000, max_pixels=MAX_PIXELS)


def test_a_polyglot_is_named_before_a_damaged_decode() -> None:
    # Cut short (the decode fails) and carrying a script (the scan fails): the scan's reason is
    # the one given, in memory as on disk.
    data = _with_comments(photo(12), 200_000, b"<script>", 5_000)[:150_000]
    with _on_disk(data) as file:
        for stream in (io.BytesIO(data), file):
            with pytest.raises(InvalidInput, match="another kind of file"):
                fingerprint(stream, limit=1 << 30, max_pixels=MAX_PIXELS)


def _spooled_in(app: Flask, data: bytes) -> str:
    """Where the upload of ``data`` waits while its request is handled: memory or disk."""
    with app.test_request_context(
        "/api/v1/verify", method="POST", data={"file": (io.BytesIO(data), "photo.jpg")}
    ):
        stream = request.files["file"].stream
        assert stream.read() == data
        if isinstance(stream, io.BytesIO):
            return "memory"
        assert os.fstat(stream.fileno()).st_size == len(data)  # a real temporary file
        return "disk"


def test_a_photo_waits_in_memory_and_a_larger_body_on_disk(
    app: Flask, monkeypatch: pytest.MonkeyPatch, configure: LiveSettings
) -> None:
    data = photo(13)
    assert _spooled_in(app, data) == "memory"
    # The body's multipart framing is over the file's own length.
    configure["CONSENT_UPLOAD_MEMORY_BYTES"] = len(data)
    assert _spooled_in(app, data) == "disk"


def _post_multipart(flow: Flow, path: str, fields: dict[str, object]) -> Any:
    """POST ``fields`` as multipart/form-data encoded here: the test client spools a body past
    500 kB to a temporary file of its own that it never closes."""
    boundary, body = encode_multipart(
        MultiDict(
            {
                name: FileStorage(io.BytesIO(value[0]), value[1])
                if isinstance(value, tuple)
                else value
                for name, value in fields.items()
            }
        )
    )
    return flow.client.post(
        path,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=flow.headers,
    )


@pytest.mark.parametrize("spool", ["memory", "disk"])
def test_an_upload_over_many_parser_turns_arrives_whole(
    app: Flask, monkeypatch: pytest.MonkeyPatch, spool: str, configure: LiveSettings
) -> None:
    # 1.2 MB: several turns of the multipart parser (PARSE_BUFFER) and of the streaming scan.
    if spool == "disk":
        configure["CONSENT_UPLOAD_MEMORY_BYTES"] = 0
    data = _with_comments(photo(14), SEAM + 200_000)
    assert len(data) > 4 * PARSE_BUFFER
    flow = Flow(app.test_client(), api_key())
    stored = _post_multipart(
        flow, "/api/v1/media", {"patient_id": flow.patient(), "file": (data, "big.jpg")}
    )
    assert stored.status_code == 201, stored.json
    assert stored.json["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored.json["size"] == len(data)


def test_a_form_field_past_the_form_memory_limit_is_refused(app: Flask) -> None:
    flow = Flow(app.test_client(), api_key())
    huge = "x" * (app.config.get("MAX_FORM_MEMORY_SIZE") or 500_000) * 2
    refused = _post_multipart(
        flow, "/api/v1/verify", {"purpose": huge, "file": (photo(15), "a.jpg")}
    )
    assert refused.status_code == 413
