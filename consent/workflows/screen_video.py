"""The screen copy of a video for the tablet: made once, in the background, after the upload
commits (or on the first view of a video uploaded before), stored encrypted with the media
item's key beside the original (``sr_``, like a photo's copy, so an erasure of its last
subject removes and crypto-shreds it too), read back for the tablet.
consent.media.screen_video says why and how.

Until the copy exists, or when it cannot be made (no FFmpeg, a file FFmpeg cannot read), the
tablet streams the original in ranges, as before: the page never fails for want of a copy.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import threading
from pathlib import Path

from consent.db import AnySession
from consent.db.files import MediaStore
from consent.db.transactions import after_commit
from consent.errors import ConsentError, Gone, IntegrityFailure
from consent.media.fingerprints import VIDEO_TYPES
from consent.media.models import MediaItem
from consent.media.screen import screen_id
from consent.media.screen_video import encode_screen_video, encoder
from consent.media.subjects import media_key
from consent.runtime import Runtime

log = logging.getLogger(__name__)

# One encoding at a time per process: the machine's cores serve the pages first.
# Shared with the face-masked copies (consent.workflows.masked_video).
ONE_AT_A_TIME = threading.BoundedSemaphore(1)
_LOCK = threading.Lock()
_RUNNING: dict[str, threading.Thread] = {}
# Copies that could not be made in this process: not tried again on every view.
_FAILED: set[str] = set()


def stored_video_copy(session: AnySession, rt: Runtime, item: MediaItem) -> bytes | None:
    """The video's screen copy (MP4 bytes) if it was made; else None, and it is started.

    Raises Gone once the patient was erased, IntegrityFailure when the stored copy was altered.
    """
    if item.bytes_erased_at is not None:
        raise Gone(f"The patient of media item {item.id} was erased; its bytes are gone.")
    key = media_key(session, rt.vault, item)
    copy_id = screen_id(item.id)
    if rt.files.holds(copy_id):
        return b"".join(rt.files.read(media_id=copy_id, data_key=key))
    _start(rt.files, _ItemRef(item), key)
    log.info(
        "screen copy of a video not ready: the original is streamed",
        extra={"fields": {"media_id": item.id}},
    )
    return None


def prepare_screen_video(session: AnySession, rt: Runtime, item: MediaItem) -> None:
    """Start making a just-uploaded video's screen copy once the upload commits (never if the
    upload is rolled back); the upload does not wait for it."""
    if item.media_type not in VIDEO_TYPES:
        return
    key = media_key(session, rt.vault, item)
    ref = _ItemRef(item)
    after_commit(session, lambda: _start(rt.files, ref, key))


def wait_for_screen_videos(timeout: float = 600.0) -> None:
    """Wait for the copies being made in this process (tests, the bench, a clean shutdown)."""
    with _LOCK:
        running = list(_RUNNING.values())
    for thread in running:
        thread.join(timeout)


class _ItemRef:
    """What the background thread needs of a media item, read while its session is open."""

    def __init__(self, item: MediaItem) -> None:
        self.id, self.sha256 = item.id, item.sha256


def _start(files: MediaStore, ref: _ItemRef, key: bytes) -> None:
    copy_id = screen_id(ref.id)
    with _LOCK:
        running = _RUNNING.get(copy_id)
        if copy_id in _FAILED or (running is not None and running.is_alive()):
            return
        thread = threading.Thread(
            target=_make, args=(files, ref, key), name=f"screen-video-{ref.id}", daemon=True
        )
        _RUNNING[copy_id] = thread
    thread.start()


def _make(files: MediaStore, ref: _ItemRef, key: bytes) -> None:
    copy_id = screen_id(ref.id)
    try:
        made = make_video_copy(files, media_id=ref.id, sha256=ref.sha256, key=key)
    except (ConsentError, OSError) as exc:
        # The upload rolled back meanwhile, the store is gone, the original was altered.
        log.warning(
            "screen copy of a video not made (%s)",
            type(exc).__name__,
            extra={"fields": {"media_id": ref.id}},
        )
        made = False
    with _LOCK:
        if not made:
            _FAILED.add(copy_id)
        _RUNNING.pop(copy_id, None)


def make_video_copy(files: MediaStore, *, media_id: str, sha256: str, key: bytes) -> bool:
    """Decrypt the original into a private folder, check its hash, encode, store the copy.

    False (and a log line) when FFmpeg is missing or fails. Raises IntegrityFailure when the
    stored original is not the media item's, StoredFileMissing when it is gone.
    """
    program = encoder()
    if program is None:
        log.warning("ffmpeg is not installed: videos are streamed to the tablet as uploaded")
        return False
    workroot = files.root / "encoding"
    workroot.mkdir(mode=0o700, exist_ok=True)
    with ONE_AT_A_TIME, tempfile.TemporaryDirectory(dir=workroot) as work:
        source = Path(work) / "original"
        digest = hashlib.sha256()
        with os.fdopen(os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as sink:
            for chunk in files.read(media_id=media_id, data_key=key):
                digest.update(chunk)
                sink.write(chunk)
        if digest.hexdigest() != sha256:
            raise IntegrityFailure(f"The stored bytes of media item {media_id} are not its own.")
        data = encode_screen_video(program, source, Path(work))
    if data is None:
        return False
    files.put(media_id=screen_id(media_id), data_key=key, source=io.BytesIO(data))
    log.info(
        "screen copy of a video made",
        extra={"fields": {"media_id": media_id, "bytes": len(data)}},
    )
    return True
