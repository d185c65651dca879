"""The media store: each item's bytes (a media item or a paper form's scan) encrypted under its
patient's data key, one file each.

Files follow the database transaction of the row they belong to: ``put_for`` deletes the file
again if that transaction is rolled back, ``delete_after_commit`` deletes it only once the
transaction holds (consent.db.transactions). Only whole files are ever visible.

The interface is deliberately narrow (put, read, delete, and a path for backups) so that an
object store can replace the directory without touching the domains.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Generator
from pathlib import Path
from typing import IO

from consent.crypto.private import private_directory
from consent.crypto.vault import decrypt_stream, encrypt_stream
from consent.db import AnySession
from consent.db.transactions import after_commit, after_rollback
from consent.errors import NotFound, StoredFileMissing

log = logging.getLogger(__name__)

# Media items (md_), scans of signed paper forms (ps_), evidence of decisions collected
# elsewhere (ev_), screen-sized copies of photos for the tablet (sr_, consent.media.screen),
# face-masked copies (fm_, consent.media.masked).
_SAFE_ID = re.compile(r"^(md|ps|ev|sr|fm)_[0-9a-f]{32}$")


class MediaStore:
    """Encrypted files under one directory, named by media id (never by a client's file name)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, media_id: str) -> Path:
        if not _SAFE_ID.match(media_id):
            raise NotFound("No such media item.")
        return self.root / media_id[3:5] / media_id

    def path(self, media_id: str) -> Path:
        """Where the encrypted file of ``media_id`` lives (backups copy it as it is)."""
        return self._path(media_id)

    def put(self, *, media_id: str, data_key: bytes, source: IO[bytes]) -> None:
        """Encrypt ``source`` into the store; the file appears whole or not at all."""
        path = self._path(media_id)
        private_directory(path.parent)
        tmp = path.with_name(path.name + ".partial")
        source.seek(0)
        try:
            # 0600 from the start: the folders keep others out, and so does each file.
            with os.fdopen(
                os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb"
            ) as sink:
                encrypt_stream(data_key, source, sink)
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def read(self, *, media_id: str, data_key: bytes) -> Generator[bytes]:
        """The plaintext, chunk by chunk.

        Raises StoredFileMissing at once when the file is absent (before a response starts),
        IntegrityFailure while reading altered or truncated data.
        """
        try:
            source = open(self._path(media_id), "rb")  # noqa: SIM115 (closed by _decrypted)
        except FileNotFoundError as exc:
            # The media id is pseudonymous: the operator needs it to find the file to restore.
            log.error("media file missing", extra={"fields": {"media_id": media_id}})
            raise StoredFileMissing(
                f"The stored file of {media_id} is missing from the media store: the "
                "service's operators must restore it from the media backup "
                '(docs/operations.md, "Restore the media").'
            ) from exc
        return _decrypted(data_key, source)

    def holds(self, media_id: str) -> bool:
        """Whether the store has a file for ``media_id`` (a copy made on first use)."""
        return self._path(media_id).is_file()

    def delete(self, media_id: str) -> None:
        self._path(media_id).unlink(missing_ok=True)

    def put_for(
        self, session: AnySession, *, media_id: str, data_key: bytes, source: IO[bytes]
    ) -> None:
        """``put``, for a row added in ``session``: the file goes if the row is rolled back."""
        try:
            self.put(media_id=media_id, data_key=data_key, source=source)
        finally:
            after_rollback(session, lambda: self.delete(media_id))

    def replace_for(
        self, session: AnySession, *, media_id: str, data_key: bytes, source: IO[bytes]
    ) -> None:
        """Re-encrypt a stored file under another key in ``session``'s transaction: the old
        file is kept aside, put back if the transaction is rolled back, deleted once it holds."""
        path = self._path(media_id)
        previous = path.with_name(path.name + ".previous")
        os.replace(path, previous)
        try:
            self.put(media_id=media_id, data_key=data_key, source=source)
        except BaseException:
            os.replace(previous, path)
            raise
        after_rollback(session, lambda: os.replace(previous, path))
        after_commit(session, lambda: previous.unlink(missing_ok=True))

    def delete_after_commit(self, session: AnySession, media_id: str) -> None:
        """Delete the file once ``session``'s transaction is committed (an erasure)."""
        after_commit(session, lambda: self.delete(media_id))


def _decrypted(data_key: bytes, source: IO[bytes]) -> Generator[bytes]:
    with source:
        yield from decrypt_stream(data_key, source)
