"""Face-masked copies of photos (issue 19): "yes, only with my face hidden".

The copy is the photo with each face box (found at upload, checked by the clinician) pixelated
and blurred beyond recognition, upright, without any metadata (consent.media.faces). It is
made from the original and the boxes, deterministically: the tablet shows it to the patient
beside the original before they answer (``masked_preview``, not recorded), and the decision that
grants a use only with the face hidden records it as a "face-masked" rendition receipt in the
log, in the same transaction as the consent, whose receipt binds the copy's SHA-256 (what the
patient saw is what is hashed). Like the publishable copy, its bytes are not stored: they are
made again from the original on request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from consent.accounts.scope import Scope
from consent.consents.models import ConsentRequest
from consent.consents.requests import request_media
from consent.consents.uses import FACE_HIDDEN, Choice
from consent.db import AnySession
from consent.errors import Conflict, Gone, IntegrityFailure, InvalidInput, NotFound
from consent.media.faces import FaceBox, masked_copy, parse_faces
from consent.media.fingerprints import IMAGE_TYPES, bands
from consent.media.models import MediaItem, MediaRendition, RenditionBand
from consent.media.subjects import media_key
from consent.records.receipts import Recorder
from consent.runtime import Runtime
from consent.workflows.rendition import _existing, _record

FACE_MASKED = "face-masked"


def masked_preview(
    session: AnySession, rt: Runtime, item: MediaItem
) -> tuple[bytes, list[FaceBox]]:
    """The photo with its faces hidden, as it would be recorded (the tablet shows it), and the
    boxes hidden.

    Raises InvalidInput for a video, Gone once the patient was erased, IntegrityFailure when
    the stored bytes are not the item's, ServiceBusy when no decode slot frees up.
    """
    if item.media_type not in IMAGE_TYPES:
        raise InvalidInput(f"Media item {item.id} is a {item.media_type}, not a photo.")
    if item.bytes_erased_at is not None:
        raise Gone(f"The patient of media item {item.id} was erased; its bytes are gone.")
    key = media_key(session, rt.vault, item)
    original = b"".join(rt.files.read(media_id=item.id, data_key=key))
    if hashlib.sha256(original).hexdigest() != item.sha256:
        raise IntegrityFailure(f"The stored bytes of media item {item.id} are not its own.")
    boxes = parse_faces(item.faces) or []
    return masked_copy(original, item.media_type, boxes, max_pixels=rt.settings.max_image_pixels)


def face_masked_copy(
    session: AnySession, rt: Runtime, item: MediaItem, recorded_by: Recorder
) -> MediaRendition:
    """The item's face-masked copy, recorded as a rendition (once), with its pHash bands.

    Raises as ``masked_preview``; Conflict when a copy recorded earlier had other bytes (the
    boxes or the encoder changed since).
    """
    data, hidden = masked_preview(session, rt, item)
    sha256 = hashlib.sha256(data).hexdigest()
    rendition = _existing(session, item.id, FACE_MASKED)
    if rendition is None:
        boxes = [[b.x, b.y, b.w, b.h] for b in hidden]
        rendition = _record(session, rt, item, data, sha256, recorded_by, FACE_MASKED, boxes)
        if rendition.phash:
            session.add_all(
                RenditionBand(band=band, value=value, rendition_id=rendition.id)
                for band, value in bands(rendition.phash)
            )
            session.flush()
    if rendition.sha256 != sha256:
        raise Conflict(
            f"A face-masked copy of media item {item.id} with other bytes was recorded earlier; "
            "it cannot be made again."
        )
    return rendition


def recorded_masked_copy(
    session: AnySession, rt: Runtime, *, media_id: str, scope: Scope
) -> tuple[bytes, str, MediaRendition]:
    """The face-masked copy recorded for a media item of the caller's teams, made again from
    the original: its bytes, media type (the original's) and rendition.

    Raises NotFound when none was recorded (no use was granted only with the face hidden),
    Gone once the patient was erased, Conflict when it no longer comes out the same.
    """
    item = session.get(MediaItem, media_id)
    rendition = (
        _existing(session, media_id, FACE_MASKED) if item and scope.allows(item.team_id) else None
    )
    if item is None or rendition is None:
        raise NotFound(f"No face-masked copy of media item {media_id} has been recorded.")
    data, _hidden = masked_preview(session, rt, item)
    if hashlib.sha256(data).hexdigest() != rendition.sha256:
        raise Conflict(
            f"The face-masked copy of media item {media_id} no longer comes out the same."
        )
    return data, item.media_type, rendition


def masked_for_decision(
    session: AnySession,
    rt: Runtime,
    *,
    request: ConsentRequest,
    choices: Mapping[str, Choice],
    recorded_by: Recorder,
) -> dict[str, str]:
    """When a use is granted only with the face hidden: the face-masked copy of each photo of
    the request, recorded; original SHA-256 -> copy SHA-256 (for the consent receipt). Videos
    get none (their uses under that answer stay ``masked_only``, with no copy to offer).
    """
    if FACE_HIDDEN not in choices.values():
        return {}
    return {
        item.sha256: face_masked_copy(session, rt, item, recorded_by).sha256
        for item in request_media(session, request.id)
        if item.media_type in IMAGE_TYPES
    }
