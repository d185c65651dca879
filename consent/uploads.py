"""Where an uploaded file waits while its request is handled: in memory if small, else on disk.

Werkzeug spools every file part past 500 KB to a temporary file, which the service then reads
back for the SHA-256, the polyglot scan and the decode. A photo (a few MB) is kept in memory
instead, where the fingerprint reads it without copies and checks it beside the decode
(consent.media.fingerprints). A request whose body is larger than CONSENT_UPLOAD_MEMORY_BYTES
(a video), or whose length is not announced, still goes to a temporary file, so that a worker's
memory never grows with the media limit.
"""

from __future__ import annotations

import io
import tempfile
from typing import IO

from flask import Request, current_app


class ConsentRequest(Request):
    """Flask's request, with uploads spooled as described above."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        # The whole body's announced length bounds every part in it: Werkzeug never reads past
        # it (and MAX_CONTENT_LENGTH refuses a longer one before reading).
        in_memory = current_app.config["CONSENT_UPLOAD_MEMORY_BYTES"]
        if total_content_length is not None and total_content_length <= in_memory:
            return io.BytesIO()
        return tempfile.TemporaryFile("w+b")
