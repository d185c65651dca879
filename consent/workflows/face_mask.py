"""Face-masked copies of photos and videos (issue 19): "yes, only with my face hidden".

The copy is the photo or video with each face box (found at upload, checked by the clinician)
pixelated and blurred beyond recognition, upright, without any metadata (consent.media.faces,
consent.media.masked_video). It is made once for the item's current boxes and stored encrypted
under the item's key with the key of the boxes it was made from (consent.media.masked): a
photo's on first view, a video's in the background (consent.workflows.masked_video). The tablet
shows the stored copy beside the original before the patient answers; the decision that grants
a use only with the face hidden records those same stored bytes as a "face-masked" rendition
receipt in the log, in the same transaction as the consent, whose receipt binds the copy's
SHA-256 (what the patient saw is what is hashed). Once recorded, the copy is read back, never
made again: a change of the mask (consent.media.faces.MASK_SHAPES) changes only copies made
from then on. A photo's copy recorded before copies were stored is made again with the mask
shape that gives the recorded bytes.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence

from consent.accounts.scope import Scope
from consent.consents.models import ConsentRequest
from consent.consents.requests import request_media
from consent.consents.uses import FACE_HIDDEN, Choice
from consent.db import AnySession
from consent.errors import Conflict, Gone, IntegrityFailure, InvalidInput, NotFound
from consent.media.faces import MASK_SHAPE, MASK_SHAPES, masked_copy, parse_faces
from consent.media.fingerprints import IMAGE_TYPES, bands
from consent.media.masked import StoredMask, boxes_key, masked_id, pack, unpack
from consent.media.models import MediaItem, MediaRendition, RenditionBand
from consent.media.screen_video import encoder
from consent.media.subjects import media_key
from consent.records.receipts import Recorder
from consent.runtime import Runtime
from consent.workflows.masked_video import job_for, start_masked_video
from consent.workflows.rendition import _existing, _record

FACE_MASKED = "face-masked"


def _stored(
    rt: Runtime, item: MediaItem, key: bytes, *, header_only: bool = False
) -> StoredMask | None:
    copy_id = masked_id(item.id)
    if not rt.files.holds(copy_id):
        return None
    chunks = rt.files.read(media_id=copy_id, data_key=key)
    if not header_only:
        return unpack(b"".join(chunks))
    # Only the header line, from the first chunks (each one authenticated): the tablet asks on
    # every step whether a video's copy is ready, and the copy is megabytes.
    head = b""
    for chunk in chunks:
        head += chunk
        if b"\n" in head:
            break
    chunks.close()
    return unpack(head, header_only=True)


def _original(rt: Runtime, item: MediaItem, key: bytes) -> bytes:
    original = b"".join(rt.files.read(media_id=item.id, data_key=key))
    if hashlib.sha256(original).hexdigest() != item.sha256:
        raise IntegrityFailure(f"The stored bytes of media item {item.id} are not its own.")
    return original


def masked_photo(session: AnySession, rt: Runtime, item: MediaItem) -> StoredMask:
    """The photo's face-masked copy: the recorded one if a decision recorded it, else the one
    for its current boxes, made and stored on first use.

    Raises Gone once the patient was erased, IntegrityFailure when the stored bytes are not the
    item's, Conflict when a recorded copy can no longer be read back nor made again the same,
    ServiceBusy when no decode slot frees up.
    """
    if item.bytes_erased_at is not None:
        raise Gone(f"The patient of media item {item.id} was erased; its bytes are gone.")
    key = media_key(session, rt.vault, item)
    stored = _stored(rt, item, key)
    recorded = _existing(session, item.id, FACE_MASKED)
    boxes = parse_faces(item.faces) or []
    max_pixels = rt.settings.max_image_pixels
    if recorded is not None:
        if stored is not None and stored.sha256 == recorded.sha256:
            return stored
        # Recorded before copies were stored: made again with the shape that gives its bytes.
        original = _original(rt, item, key)
        for shape in MASK_SHAPES:
            data, hidden = masked_copy(
                original, item.media_type, boxes, max_pixels=max_pixels, shape=shape
            )
            if hashlib.sha256(data).hexdigest() == recorded.sha256:
                hidden_json = [b.as_json() for b in hidden]
                mask = StoredMask.made(
                    boxes_key(boxes, shape.name), item.media_type, hidden_json, data
                )
                rt.files.put(
                    media_id=masked_id(item.id), data_key=key, source=io.BytesIO(pack(mask))
                )
                return mask
        raise Conflict(
            f"The face-masked copy of media item {item.id} no longer comes out the same."
        )
    wanted = boxes_key(boxes)
    if stored is not None and stored.key == wanted:
        return stored
    data, hidden = masked_copy(
        _original(rt, item, key), item.media_type, boxes, max_pixels=max_pixels, shape=MASK_SHAPE
    )
    mask = StoredMask.made(wanted, item.media_type, [b.as_json() for b in hidden], data)
    # Whole or not at all; two first views at once write the same bytes twice, harmlessly.
    rt.files.put(media_id=masked_id(item.id), data_key=key, source=io.BytesIO(pack(mask)))
    return mask


def masked_video(
    session: AnySession, rt: Runtime, item: MediaItem, *, header_only: bool = False
) -> StoredMask | None:
    """The video's face-masked copy for its current boxes (or the recorded one), ready or
    refused; None while it is being made (and it is started if it is not).

    Raises Gone once the patient was erased, IntegrityFailure for an altered stored copy.
    """
    if item.bytes_erased_at is not None:
        raise Gone(f"The patient of media item {item.id} was erased; its bytes are gone.")
    key = media_key(session, rt.vault, item)
    stored = _stored(rt, item, key, header_only=header_only)
    recorded = _existing(session, item.id, FACE_MASKED)
    if recorded is not None:
        if stored is not None and stored.sha256 == recorded.sha256:
            return stored
        if stored is None:
            # Lost from the store: made again (the same bytes: FFmpeg runs bit-exact).
            start_masked_video(rt.files, job_for(session, rt, item))
        return None
    wanted = boxes_key(parse_faces(item.faces))
    if stored is not None and stored.key == wanted:
        return stored
    if encoder() is None:
        # Not stored: installing FFmpeg is enough for the next view to start the copy.
        return StoredMask(wanted, "video/mp4", refused="FFmpeg is not installed")
    start_masked_video(rt.files, job_for(session, rt, item))
    return None


def masked_preview(session: AnySession, rt: Runtime, item: MediaItem) -> StoredMask | None:
    """The copy the tablet shows: a photo's (made now if need be), a video's once ready (or
    refused: ``data`` None)."""
    if item.media_type in IMAGE_TYPES:
        return masked_photo(session, rt, item)
    return masked_video(session, rt, item)


def face_masked_copy(
    session: AnySession, rt: Runtime, item: MediaItem, recorded_by: Recorder
) -> MediaRendition:
    """The item's face-masked copy as the patient saw it, recorded as a rendition (once), with
    its pHash bands (photos).

    Raises as ``masked_photo``; Conflict when a video's copy is not ready or was refused, or
    when a copy recorded earlier had other bytes.
    """
    mask = masked_preview(session, rt, item)
    if mask is None or mask.data is None or mask.sha256 is None:
        state = "is still being prepared" if mask is None else "could not be made"
        message = (
            f"The face-hidden version of media item {item.id} {state}: the answer "
            "“only with my face hidden” cannot be recorded for it."
        )
        raise Conflict(message, errors={"choices": [message]})
    rendition = _existing(session, item.id, FACE_MASKED)
    if rendition is None:
        rendition = _record(
            session, rt, item, mask.data, mask.sha256, recorded_by, FACE_MASKED,
            mask.hidden_boxes(),
            media_type=mask.media_type,
        )  # fmt: skip
        if rendition.phash:
            session.add_all(
                RenditionBand(band=band, value=value, rendition_id=rendition.id)
                for band, value in bands(rendition.phash)
            )
            session.flush()
    if rendition.sha256 != mask.sha256:
        raise Conflict(
            f"A face-masked copy of media item {item.id} with other bytes was recorded earlier; "
            "it cannot be made again."
        )
    return rendition


def recorded_masked_copy(
    session: AnySession, rt: Runtime, *, media_id: str, scope: Scope
) -> tuple[bytes, str, MediaRendition]:
    """The face-masked copy recorded for a media item of the caller's teams, read back: its
    bytes, media type and rendition.

    Raises NotFound when none was recorded (no use was granted only with the face hidden),
    Gone once the patient was erased, Conflict when it can no longer be read back the same.
    """
    item = session.get(MediaItem, media_id)
    rendition = (
        _existing(session, media_id, FACE_MASKED) if item and scope.allows(item.team_id) else None
    )
    if item is None or rendition is None:
        raise NotFound(f"No face-masked copy of media item {media_id} has been recorded.")
    mask = masked_preview(session, rt, item)
    if mask is None or mask.data is None or mask.sha256 != rendition.sha256:
        raise Conflict(
            f"The face-masked copy of media item {media_id} can no longer be read back the same."
        )
    return mask.data, mask.media_type, rendition


def masked_for_decision(
    session: AnySession,
    rt: Runtime,
    *,
    request: ConsentRequest,
    choices: Mapping[str, Choice],
    recorded_by: Recorder,
) -> dict[str, str]:
    """When a use is granted only with the face hidden: the face-masked copy of each photo and
    video of the request, recorded; original SHA-256 -> copy SHA-256 (for the consent receipt).

    Raises Conflict when a video's copy is not ready or was refused (the tablet then does not
    offer the answer).
    """
    if FACE_HIDDEN not in choices.values():
        return {}
    media = request_media(session, request.id)
    if not faces_to_hide(media):
        raise InvalidInput(
            "No face is boxed on these photos or videos: 'yes, only with my face hidden' would "
            "hide nothing. Answer yes or no, or box the faces on a new request."
        )
    return {item.sha256: face_masked_copy(session, rt, item, recorded_by).sha256 for item in media}


def faces_to_hide(media: Sequence[MediaItem]) -> bool:
    """Whether a face is boxed (found, or drawn by the clinician) on any of these items: only
    then is "yes, only with my face hidden" offered. A copy with nothing hidden would let a face
    the detector missed be published under a promise that it was hidden."""
    return any(parse_faces(item.faces) for item in media)


def masked_states(session: AnySession, rt: Runtime, media: list[MediaItem]) -> dict[str, str]:
    """Each video's face-masked copy, for the tablet: "ready", "refused" or "preparing" (and
    started). Photos' copies are made when shown."""
    states = {}
    for item in media:
        if item.media_type in IMAGE_TYPES or item.bytes_erased_at is not None:
            continue
        mask = masked_video(session, rt, item, header_only=True)
        states[item.id] = "preparing" if mask is None else "refused" if mask.refused else "ready"
    return states
