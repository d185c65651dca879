"""Where an uploaded file waits while its request is handled: in memory if small, else on disk.

Werkzeug spools every file part past 500 KB to a temporary file, which the service then reads
back for the SHA-256, the polyglot scan and the decode. A photo (a few MB) is kept in memory
instead, where the fingerprint reads it without copies and checks it beside the decode
(consent.media.fingerprints). A request whose body is larger than CONSENT_UPLOAD_MEMORY_BYTES
(a video), or whose length is not announced, still goes to a temporary file, so that a worker's
memory never grows with the media limit.

The multipart body is parsed 256 KiB at a time rather than Werkzeug's 64 KiB: a quarter of the
turns of its Python loop and of the server's buffer copies (1.5 ms of a 3.4 MB photo).
"""

from __future__ import annotations

import io
import tempfile
from typing import IO, Any

from flask import Request
from werkzeug.formparser import FormDataParser, MultiPartParser

from consent.web.context import settings

# Bytes read per turn of the multipart parser. Werkzeug refuses a turn whose buffer passes the
# form memory limit (MAX_FORM_MEMORY_SIZE, 500 kB by default), so it stays well under it.
PARSE_BUFFER = 256 * 1024


class _FormDataParser(FormDataParser):
    def _parse_multipart(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> tuple[IO[bytes], Any, Any]:
        # Werkzeug's own _parse_multipart, with the buffer size the only change.
        limit = self.max_form_memory_size
        parser = MultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=limit,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
            buffer_size=PARSE_BUFFER if limit is None else min(PARSE_BUFFER, limit // 2),
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class UploadAwareRequest(Request):
    """Flask's request, with uploads spooled and parsed as described above."""

    form_data_parser_class = _FormDataParser

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        # The whole body's announced length bounds every part in it: Werkzeug never reads past
        # it (and MAX_CONTENT_LENGTH refuses a longer one before reading).
        in_memory = settings().upload_memory_bytes
        if total_content_length is not None and total_content_length <= in_memory:
            return io.BytesIO()
        return tempfile.TemporaryFile("w+b")
