"""Adding media items: fingerprint, refuse a silent duplicate, encrypt into the store under the
item's own key (consent.media.subjects), index the perceptual hash."""

from __future__ import annotations

from typing import IO

from sqlalchemy import select

from consent.accounts.scope import Scope
from consent.crypto.vault import Vault, seal
from consent.db import AnySession
from consent.db.files import MediaStore
from consent.db.types import new_id
from consent.errors import Conflict, InvalidInput, NotFound
from consent.media.duplicates import Duplicate, find_duplicate
from consent.media.faces import FaceBox, faces_in_photo, faces_in_video, faces_json
from consent.media.fingerprints import IMAGE_TYPES, bands, fingerprint
from consent.media.models import MediaItem, MediaRendition, MediaSubject, PerceptualBand
from consent.media.subjects import add_subject, first_subject, new_media_key
from consent.patients.service import data_key, get_patient

# What the uploader says of a file the team already holds: the same person (use the stored
# item), another person in the same picture (add the patient as one more subject of it). No
# resolution: nothing is stored, and the answer names the stored item.
RESOLUTIONS = ("reuse", "add_subject")


def add_media(
    session: AnySession,
    vault: Vault,
    files: MediaStore,
    *,
    patient_id: str,
    scope: Scope,
    description: str,
    stream: IO[bytes],
    limit: int,
    max_pixels: int,
    max_distance: int = 0,
    resolution: str | None = None,
    added_by: str = "upload",
) -> MediaItem:
    """Store a photo or video of a patient: the row with the faces found in it, its first
    subject, and its bytes encrypted in the store (removed again if the transaction is rolled
    back). A file the team already holds (same SHA-256, or a pHash within ``max_distance``) is
    stored once: see RESOLUTIONS; the stored item is returned.

    Raises NotFound/Gone for the patient (NotFound for another team's), UnsupportedMediaType,
    PayloadTooLarge or InvalidInput for the file, Conflict for a file already held (in the
    caller's team: ``errors["duplicate"]`` names the item and the match; in another team: no
    word on it); nothing is stored when it raises.
    """
    patient = get_patient(session, patient_id, scope=scope)
    print_ = fingerprint(stream, limit=limit, max_pixels=max_pixels)
    duplicate = find_duplicate(
        session, sha256=print_.sha256, phash=print_.phash, max_distance=max_distance
    )
    if duplicate is not None:
        return _resolve(
            session,
            vault,
            files,
            duplicate,
            patient_id,
            patient.team_id,
            scope=scope,
            resolution=resolution,
            added_by=added_by,
        )
    key = new_media_key()
    boxes = (
        faces_in_photo(stream, max_pixels=max_pixels)
        if print_.media_type in IMAGE_TYPES
        else faces_in_video(stream)
    )
    item = MediaItem(
        id=new_id("md"),
        team_id=patient.team_id,
        patient_id=patient_id,
        sha256=print_.sha256,
        phash=print_.phash,
        media_type=print_.media_type,
        size_bytes=print_.size,
        # The description may name the uploading patient: sealed with their own key.
        description_sealed=seal(data_key(session, vault, patient_id), description.encode()),
        faces=None if boxes is None else faces_json(boxes),
    )
    session.add(item)
    session.flush()
    first_subject(session, vault, item, key, added_by)
    if print_.phash:
        session.add_all(
            PerceptualBand(band=band, value=value, media_id=item.id)
            for band, value in bands(print_.phash)
        )
    files.put_for(session, media_id=item.id, data_key=key, source=stream)
    return item


def _resolve(
    session: AnySession,
    vault: Vault,
    files: MediaStore,
    duplicate: Duplicate,
    patient_id: str,
    team_id: str,
    *,
    scope: Scope,
    resolution: str | None,
    added_by: str,
) -> MediaItem:
    """The stored item, as ``resolution`` says (RESOLUTIONS); see add_media for what raises."""
    item = duplicate.item
    if item.team_id != team_id:
        raise Conflict(
            "This file cannot be stored: it matches a file the service already holds. Ask the "
            "service's administrators."
        )
    subject = session.get(MediaSubject, (item.id, patient_id))
    if resolution == "reuse":
        if subject is None:
            raise Conflict(
                f"Media item {item.id} does not show patient {patient_id}: if this is another "
                "person in the same picture, send resolution=add_subject.",
                errors={"resolution": ["The stored item is of another patient."]},
            )
        return item
    if resolution == "add_subject":
        if subject is not None:
            return item
        return add_subject(
            session,
            vault,
            files,
            media_id=item.id,
            patient_id=patient_id,
            scope=scope,
            added_by=added_by,
        )
    what = "the same file" if duplicate.match == "exact" else "the same picture"
    raise Conflict(
        f"Media item {item.id} of this team is {what}. Send it again with resolution=reuse if "
        "it shows the same person, resolution=add_subject if it shows another person in the "
        "same picture; otherwise nothing was stored.",
        errors={
            "duplicate": {
                "media_id": item.id,
                "match": duplicate.match,
                "distance": duplicate.distance,
            }
        },
    )


def get_media(session: AnySession, media_id: str, *, scope: Scope) -> MediaItem:
    """The media item, if of the caller's teams. Raises NotFound."""
    item = session.get(MediaItem, media_id)
    if item is None or not scope.allows(item.team_id):
        raise NotFound(f"No media item {media_id}.")
    return item


MAX_FACE_BOXES = 50
MAX_BOX_SIDE = 100_000


def set_faces(session: AnySession, item: MediaItem, boxes: list[FaceBox]) -> None:
    """Keep the face boxes the clinician checked (added, moved, removed) for a media item.

    Raises InvalidInput for too many boxes or a box that is not a rectangle of pixels; Conflict
    once a face-masked copy made from the boxes was recorded for a patient's decision (the copy
    a receipt binds is read back, never made again from other boxes).
    """
    recorded = session.scalar(
        select(MediaRendition.id).where(
            MediaRendition.media_id == item.id, MediaRendition.kind == "face-masked"
        )
    )
    if recorded is not None:
        raise Conflict(
            "A patient's decision already recorded the copy of this item with the faces hidden: "
            "its face boxes can no longer change."
        )
    if len(boxes) > MAX_FACE_BOXES:
        raise InvalidInput(f"At most {MAX_FACE_BOXES} face boxes a photo.")
    for box in boxes:
        if min(box.x, box.y) < 0 or not (0 < box.w <= MAX_BOX_SIDE and 0 < box.h <= MAX_BOX_SIDE):
            raise InvalidInput(
                "A face box has a left and top of 0 or more, a width and height of 1 or more."
            )
    item.faces = faces_json(boxes)
    session.flush()
