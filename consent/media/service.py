"""Adding media items: fingerprint, encrypt into the store, index the perceptual hash."""

from __future__ import annotations

from typing import IO

from flask import current_app

from consent.crypto.vault import seal
from consent.db import db
from consent.db.types import new_id
from consent.media.fingerprints import bands, fingerprint
from consent.media.models import MediaItem, PerceptualBand
from consent.patients.service import data_key, get_patient
from consent.runtime import runtime


def add_media(*, patient_id: str, description: str, stream: IO[bytes]) -> MediaItem:
    """Store a photo or video of a patient.

    Raises NotFound/Gone for the patient, UnsupportedMediaType, PayloadTooLarge or InvalidInput
    for the file. Commits; nothing is stored when it raises.
    """
    get_patient(patient_id)
    config = current_app.config
    print_ = fingerprint(
        stream,
        limit=config["CONSENT_MAX_MEDIA_BYTES"],
        max_pixels=config["CONSENT_MAX_IMAGE_PIXELS"],
    )
    key = data_key(patient_id)
    item = MediaItem(
        id=new_id("md"),
        patient_id=patient_id,
        sha256=print_.sha256,
        phash=print_.phash,
        media_type=print_.media_type,
        size_bytes=print_.size,
        description_sealed=seal(key, description.encode()),
    )
    db.session.add(item)
    db.session.flush()
    if print_.phash:
        db.session.add_all(
            PerceptualBand(band=band, value=value, media_id=item.id)
            for band, value in bands(print_.phash)
        )
    store = runtime().media_store
    try:
        store.put(media_id=item.id, data_key=key, source=stream)
        db.session.commit()
    except BaseException:
        # Row and file together or neither: a failed commit leaves no orphan file behind.
        db.session.rollback()
        store.delete(item.id)
        raise
    return item
