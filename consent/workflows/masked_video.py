"""The face-masked copy of a video, made in the background (issue 19): after the upload commits,
and again after the clinician changes the item's boxes, one encoding at a time (it takes
minutes for a long clip), stored encrypted under the media item's key (``fm_``,
consent.media.masked) with the key of the boxes it was made from. consent.media.masked_video
says how it is made and checked.

Until the copy for the item's current boxes exists, the tablet says that the face-hidden
version is being prepared and offers yes or no; a copy in which faces are still found, or that
FFmpeg cannot make, is stored as refused (made again only when the boxes change).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from consent.db import AnySession
from consent.db.files import MediaStore
from consent.db.transactions import after_commit
from consent.errors import ConsentError, IntegrityFailure
from consent.media.faces import FaceBox, parse_faces
from consent.media.fingerprints import VIDEO_TYPES
from consent.media.masked import StoredMask, boxes_key, masked_id, pack
from consent.media.masked_video import mask_video, still
from consent.media.models import MediaItem
from consent.media.screen_video import encoder
from consent.media.subjects import media_key
from consent.runtime import Runtime
from consent.workflows.screen_video import ONE_AT_A_TIME

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_RUNNING: dict[str, threading.Thread] = {}
_MAKING: dict[str, str] = {}  # copy id -> the key of the boxes being masked
# Boxes that changed while a copy was being made: made next, by the same thread.
_NEXT: dict[str, tuple[str, list[FaceBox], bytes]] = {}


class _Job:
    """What the background thread needs of a media item, read while its session is open."""

    def __init__(self, item: MediaItem, key: bytes) -> None:
        self.media_id, self.sha256, self.key = item.id, item.sha256, key
        self.boxes = parse_faces(item.faces) or []
        self.boxes_key = boxes_key(parse_faces(item.faces))


def prepare_masked_video(session: AnySession, rt: Runtime, item: MediaItem) -> None:
    """Start making a video's face-masked copy for its current boxes once ``session`` commits
    (never if it is rolled back); nothing waits for it."""
    if item.media_type not in VIDEO_TYPES or item.bytes_erased_at is not None:
        return
    job = _Job(item, media_key(session, rt.vault, item))
    after_commit(session, lambda: start_masked_video(rt.files, job))


def start_masked_video(files: MediaStore, job: _Job) -> None:
    """Start the copy now (a view found it missing or stale); once per item at a time."""
    copy_id = masked_id(job.media_id)
    with _LOCK:
        running = _RUNNING.get(copy_id)
        if running is not None and running.is_alive():
            if _MAKING.get(copy_id) != job.boxes_key:
                _NEXT[copy_id] = (job.boxes_key, job.boxes, job.key)
            return
        _MAKING[copy_id] = job.boxes_key
        thread = threading.Thread(
            target=_make, args=(files, job), name=f"masked-video-{job.media_id}", daemon=True
        )
        _RUNNING[copy_id] = thread
    thread.start()


def job_for(session: AnySession, rt: Runtime, item: MediaItem) -> _Job:
    return _Job(item, media_key(session, rt.vault, item))


def wait_for_masked_videos(timeout: float = 600.0) -> None:
    """Wait for the copies being made in this process (tests, a clean shutdown)."""
    with _LOCK:
        running = list(_RUNNING.values())
    for thread in running:
        thread.join(timeout)


def _make(files: MediaStore, job: _Job) -> None:
    copy_id = masked_id(job.media_id)
    while True:
        try:
            make_masked_video(files, job)
        except (ConsentError, OSError) as exc:
            # The upload rolled back meanwhile, the store is gone, the original was altered.
            log.warning(
                "face-masked copy of a video not made (%s)",
                type(exc).__name__,
                extra={"fields": {"media_id": job.media_id}},
            )
        with _LOCK:
            following = _NEXT.pop(copy_id, None)
            if following is None:
                _RUNNING.pop(copy_id, None)
                _MAKING.pop(copy_id, None)
                return
            job.boxes_key, job.boxes, job.key = following
            _MAKING[copy_id] = job.boxes_key


@contextmanager
def _original(files: MediaStore, job: _Job) -> Iterator[tuple[Path, Path]]:
    """The original decrypted into a private folder (removed after), its hash checked.

    Raises IntegrityFailure when the stored original is not the media item's."""
    workroot = files.root / "encoding"
    workroot.mkdir(mode=0o700, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workroot) as work:
        source = Path(work) / "original"
        digest = hashlib.sha256()
        with os.fdopen(os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as sink:
            for chunk in files.read(media_id=job.media_id, data_key=job.key):
                digest.update(chunk)
                sink.write(chunk)
        if digest.hexdigest() != job.sha256:
            raise IntegrityFailure(
                f"The stored bytes of media item {job.media_id} are not its own."
            )
        yield source, Path(work)


def video_still(session: AnySession, rt: Runtime, item: MediaItem) -> bytes | None:
    """The frame of a video where its first face box was found (or its first frame), as the
    detector saw it, PNG; None without FFmpeg or when it cannot be read. For the clinician's
    check of the boxes. Raises IntegrityFailure as ``_original``."""
    program = encoder()
    if program is None:
        return None
    boxes = parse_faces(item.faces) or []
    seconds = next((box.t for box in boxes if box.t is not None), 0.0)
    with _original(rt.files, job_for(session, rt, item)) as (source, work):
        return still(program, source, work, seconds)


def make_masked_video(files: MediaStore, job: _Job) -> StoredMask | None:
    """Decrypt the original into a private folder, check its hash, mask, check, store.

    None (and a log line) when FFmpeg is not installed. Raises IntegrityFailure when the stored
    original is not the media item's, StoredFileMissing when it is gone.
    """
    program = encoder()
    if program is None:
        log.warning("ffmpeg is not installed: videos get no face-masked copy")
        return None
    with ONE_AT_A_TIME, _original(files, job) as (source, work):
        made = mask_video(program, source, work, job.boxes)
    hidden = [] if made is None else [box.as_json() for box in made.hidden]
    if made is None or made.data is None:
        why = "FFmpeg could not read or encode the video" if made is None else made.refused
        mask = StoredMask(job.boxes_key, "video/mp4", hidden, refused=why)
    else:
        mask = StoredMask.made(job.boxes_key, "video/mp4", hidden, made.data)
    files.put(media_id=masked_id(job.media_id), data_key=job.key, source=io.BytesIO(pack(mask)))
    log.info(
        "face-masked copy of a video %s",
        "refused" if mask.data is None else "made",
        extra={"fields": {"media_id": job.media_id, "bytes": len(mask.data or b"")}},
    )
    return mask
