"""Media items: stored encrypted under their own key (sealed for each subject), streamed
hashing, typed by content."""

from __future__ import annotations

import hashlib
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent.db import db
from consent.errors import IntegrityFailure
from consent.media.models import MediaItem
from consent.media.subjects import media_key
from consent.patients.service import data_key
from consent.web.context import runtime
from tests.factories import Flow, api_key, photo


def test_upload_is_hashed_and_stored_encrypted(app: Flask, client: FlaskClient) -> None:
    flow = Flow(client, api_key())
    patient = flow.patient()
    data = photo(1)
    media = flow.media(patient, data, name="IMG_0042.jpg")
    assert media["subjects"] == [patient]
    # Under the item's own key, not the patient's (consent.media.subjects).
    with pytest.raises(IntegrityFailure):
        b"".join(
            runtime().files.read(
                media_id=media["id"], data_key=data_key(db.session, runtime().vault, patient)
            )
        )
    assert media["sha256"] == hashlib.sha256(data).hexdigest()
    assert media["media_type"] == "image/jpeg" and media["size"] == len(data)
    assert len(media["phash"]) == 16
    store = runtime().files
    files = [path for path in store.root.rglob("*") if path.is_file()]
    stored = next(path for path in files if path.name == media["id"])
    raw = stored.read_bytes()
    assert data[:64] not in raw and data[-64:] not in raw  # no plaintext on disk
    assert (
        b"".join(
            store.read(
                media_id=media["id"],
                data_key=media_key(
                    db.session, runtime().vault, db.session.get_one(MediaItem, media["id"])
                ),
            )
        )
        == data
    )
    # The client's file name plays no part in where the file goes.
    assert all("IMG_0042" not in str(path) for path in files)


def test_png_named_jpg_is_typed_by_content(app: Flask, client: FlaskClient) -> None:
    from PIL import Image

    flow = Flow(client, api_key())
    patient = flow.patient()
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buffer, "PNG")
    media = flow.media(patient, buffer.getvalue(), name="photo.jpg")
    assert media["media_type"] == "image/png"
    assert db.session.get_one(MediaItem, media["id"]).media_type == "image/png"
