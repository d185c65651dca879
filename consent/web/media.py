"""A media item's bytes as an HTTP answer, decrypted from the store.

By default never cached. The tablet asks for two things more (issue 21): a private cache for
the signing session (the same photo is not sent again on every page that shows it, and never
kept by a shared cache), and HTTP range requests, so that a video starts playing before it has
fully arrived. A range is decrypted from the start of the file and cut, never held whole in
memory.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator

from flask import Response, request

from consent.db import db
from consent.media.models import MediaItem
from consent.media.subjects import media_key
from consent.web.context import runtime

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def media_response(
    item: MediaItem, *, ranges: bool = False, private_seconds: int | None = None
) -> Response:
    """The item, decrypted chunk by chunk. Raises Gone when its patient was erased.

    ``ranges``: answer a single ``Range: bytes=a-b`` with 206 (416 when it cannot be served).
    ``private_seconds``: let the requesting browser alone keep it that long.
    """
    rt = runtime()
    key = media_key(db.session, rt.vault, item)
    size = item.size_bytes
    wanted = _range(request.headers.get("Range"), size) if ranges else None
    if wanted == "bad":
        response = Response(status=416)
        response.headers["Content-Range"] = f"bytes */{size}"
    elif isinstance(wanted, tuple):
        start, end = wanted
        chunks = _cut(rt.files.read(media_id=item.id, data_key=key), start, end)
        response = Response(chunks, status=206, mimetype=item.media_type)
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        response.headers["Content-Length"] = str(end - start + 1)
    else:
        response = Response(rt.files.read(media_id=item.id, data_key=key), mimetype=item.media_type)
        response.headers["Content-Length"] = str(size)
    if ranges:
        response.headers["Accept-Ranges"] = "bytes"
    if private_seconds:
        response.headers["Cache-Control"] = f"private, max-age={private_seconds}"
        response.headers["Vary"] = "Cookie"
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


def photo_response(
    data: bytes, media_type: str, *, ranges: bool = False, private_seconds: int | None = None
) -> Response:
    """A screen copy of a photo or a video (consent.workflows.screen_rendition, screen_video),
    held whole: it is small. ``ranges`` as for ``media_response``."""
    size = len(data)
    wanted = _range(request.headers.get("Range"), size) if ranges else None
    if wanted == "bad":
        response = Response(status=416)
        response.headers["Content-Range"] = f"bytes */{size}"
    elif isinstance(wanted, tuple):
        start, end = wanted
        response = Response(data[start : end + 1], status=206, mimetype=media_type)
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        response.headers["Content-Length"] = str(end - start + 1)
    else:
        response = Response(data, mimetype=media_type)
        response.headers["Content-Length"] = str(size)
    if ranges:
        response.headers["Accept-Ranges"] = "bytes"
    if private_seconds:
        response.headers["Cache-Control"] = f"private, max-age={private_seconds}"
        response.headers["Vary"] = "Cookie"
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


def _range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """The first and last byte asked for, "bad" when unsatisfiable, None for the whole file."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None  # several ranges or another unit: the whole file (RFC 9110 allows it)
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        return "bad"
    return start, end


def _cut(chunks: Generator[bytes], start: int, end: int) -> Iterator[bytes]:
    offset = 0
    try:
        for chunk in chunks:
            chunk_end = offset + len(chunk)
            if chunk_end > start and offset <= end:
                yield chunk[max(0, start - offset) : end - offset + 1]
            offset = chunk_end
            if offset > end:
                break
    finally:
        chunks.close()  # the stored file, at once
