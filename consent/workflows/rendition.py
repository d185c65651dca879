"""Publishable copies of media items: metadata removed, bound to the original by a signed,
logged rendition receipt, so that verify answers for the copy exactly as for the original."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from consent import clock
from consent.accounts.scope import Scope
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import Conflict, Gone, IntegrityFailure, InvalidInput, NotFound
from consent.media.fingerprints import IMAGE_TYPES, perceptual_hash
from consent.media.models import MediaItem, MediaRendition
from consent.media.strip import strip_metadata
from consent.media.subjects import media_key
from consent.records.log import sign_and_log
from consent.records.receipts import Recorder, made_by, rendition_receipt
from consent.runtime import Runtime

METADATA_STRIPPED = "metadata-stripped"
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "video/mp4": "mp4"}


@dataclass(frozen=True)
class PublishableCopy:
    data: bytes
    media_type: str
    rendition: MediaRendition
    rendition_of: str  # the original's SHA-256

    @property
    def file_name(self) -> str:
        # Named by hash, never by the clinician's file name or description.
        return f"{self.rendition.sha256[:16]}.{EXTENSIONS[self.media_type]}"


def publishable_copy(
    session: AnySession, rt: Runtime, *, media_id: str, scope: Scope, recorded_by: Recorder
) -> PublishableCopy:
    """The media item without its metadata, recorded as a rendition (once).

    When another request recorded the same copy at the same moment, the transaction is rolled
    back and that copy is used: call this first in a transaction of its own.

    Raises NotFound, Gone when the patient (and so the bytes) was erased, InvalidInput for a
    video or an image that cannot be rewritten, IntegrityFailure when the stored bytes are not
    the media item's, Conflict when an earlier copy of this item had other bytes.
    """
    item = session.get(MediaItem, media_id)
    if item is None or not scope.allows(item.team_id):
        raise NotFound(f"No media item {media_id}.")
    if item.bytes_erased_at is not None:
        raise Gone(f"The patient of media item {media_id} was erased; its bytes are gone.")
    if item.media_type not in IMAGE_TYPES:
        raise InvalidInput(
            f"Only images can be made publishable here; media item {media_id} is {item.media_type}."
        )
    key = media_key(session, rt.vault, item)  # Gone once the patient was erased
    original = b"".join(rt.files.read(media_id=item.id, data_key=key))
    if hashlib.sha256(original).hexdigest() != item.sha256:
        raise IntegrityFailure(f"The stored bytes of media item {media_id} are not its own.")
    data = strip_metadata(original, item.media_type)
    sha256 = hashlib.sha256(data).hexdigest()
    rendition = _existing(session, item.id)
    if rendition is None:
        try:
            rendition = _record(session, rt, item, data, sha256, recorded_by)
        except IntegrityError:
            # Another request recorded the same copy first: one row, and it is the same copy.
            session.rollback()
            rendition = _existing(session, item.id)
            if rendition is None:
                raise
    if rendition.sha256 != sha256:
        raise Conflict(
            f"A publishable copy of media item {media_id} with other bytes was recorded "
            "earlier (by another version of the service); it cannot be made again."
        )
    return PublishableCopy(data, item.media_type, rendition, item.sha256)


def recorded_copy(session: AnySession, media_id: str, *, scope: Scope) -> MediaRendition:
    """The publishable copy recorded for a media item of the caller's teams. Raises NotFound
    when there is none."""
    item = session.get(MediaItem, media_id)
    rendition = _existing(session, media_id) if item and scope.allows(item.team_id) else None
    if rendition is None:
        raise NotFound(f"No publishable copy of media item {media_id} has been made.")
    return rendition


def _existing(
    session: AnySession, media_id: str, kind: str = METADATA_STRIPPED
) -> MediaRendition | None:
    found: MediaRendition | None = session.scalar(
        select(MediaRendition).where(
            MediaRendition.media_id == media_id, MediaRendition.kind == kind
        )
    )
    return found


def _record(
    session: AnySession,
    rt: Runtime,
    item: MediaItem,
    data: bytes,
    sha256: str,
    recorded_by: Recorder,
    kind: str = METADATA_STRIPPED,
    faces: list[list[int]] | None = None,
    *,
    media_type: str | None = None,
) -> MediaRendition:
    """Sign, log and add a rendition: ``media_type`` is the copy's (the original's unless
    said); a video copy has no perceptual hash."""
    media_type = media_type or item.media_type
    phash = (
        perceptual_hash(io.BytesIO(data), max_pixels=rt.settings.max_image_pixels)
        if media_type in IMAGE_TYPES
        else None
    )
    rendition_id = new_id("rd")
    issued_at = clock.now()
    logged = sign_and_log(
        session,
        rt.keyring,
        kind="rendition",
        record_id=rendition_id,
        body=rendition_receipt(
            rendition_id=rendition_id,
            issued_at=issued_at,
            team=item.team_id,
            kind=kind,
            media_sha256=item.sha256,
            sha256=sha256,
            media_type=media_type,
            size=len(data),
            phash=phash,
            recorded_by=recorded_by,
            faces=faces,
        ),
    )
    rendition = MediaRendition(
        id=rendition_id,
        media_id=item.id,
        kind=kind,
        sha256=sha256,
        phash=phash,
        size_bytes=len(data),
        made_by=made_by(recorded_by),
        created_at=issued_at,
    )
    rendition.sealed_by(logged)
    session.add(rendition)
    session.flush()
    return rendition
