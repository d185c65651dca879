"""Adding media items: fingerprint, encrypt into the store, index the perceptual hash."""

from __future__ import annotations

from typing import IO

from consent.accounts.scope import Scope
from consent.crypto.vault import Vault, seal
from consent.db import AnySession
from consent.db.files import MediaStore
from consent.db.types import new_id
from consent.errors import InvalidInput, NotFound
from consent.media.faces import FaceBox, faces_in_photo, faces_in_video, faces_json
from consent.media.fingerprints import IMAGE_TYPES, bands, fingerprint
from consent.media.models import MediaItem, PerceptualBand
from consent.patients.service import data_key, get_patient


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
) -> MediaItem:
    """Store a photo or video of a patient: the row with the faces found in it, and its bytes
    encrypted in the store (removed again if the transaction is rolled back).

    Raises NotFound/Gone for the patient (NotFound for another team's), UnsupportedMediaType,
    PayloadTooLarge or InvalidInput for the file; nothing is stored when it raises.
    """
    patient = get_patient(session, patient_id, scope=scope)
    print_ = fingerprint(stream, limit=limit, max_pixels=max_pixels)
    key = data_key(session, vault, patient_id)
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
        description_sealed=seal(key, description.encode()),
        faces=None if boxes is None else faces_json(boxes),
    )
    session.add(item)
    session.flush()
    if print_.phash:
        session.add_all(
            PerceptualBand(band=band, value=value, media_id=item.id)
            for band, value in bands(print_.phash)
        )
    files.put_for(session, media_id=item.id, data_key=key, source=stream)
    return item


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

    Raises InvalidInput for too many boxes or a box that is not a rectangle of pixels.
    """
    if len(boxes) > MAX_FACE_BOXES:
        raise InvalidInput(f"At most {MAX_FACE_BOXES} face boxes a photo.")
    for box in boxes:
        if min(box.x, box.y) < 0 or not (0 < box.w <= MAX_BOX_SIDE and 0 < box.h <= MAX_BOX_SIDE):
            raise InvalidInput(
                "A face box has a left and top of 0 or more, a width and height of 1 or more."
            )
    item.faces = faces_json(boxes)
    session.flush()
