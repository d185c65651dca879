"""A media item's bytes as an HTTP answer: decrypted from the store, never cached."""

from __future__ import annotations

from flask import Response

from consent.db import db
from consent.media.models import MediaItem
from consent.patients.service import data_key
from consent.web.context import runtime


def media_response(item: MediaItem) -> Response:
    """The item, decrypted chunk by chunk. Raises Gone when its patient was erased."""
    rt = runtime()
    key = data_key(db.session, rt.vault, item.patient_id)
    response = Response(rt.files.read(media_id=item.id, data_key=key), mimetype=item.media_type)
    response.headers["Cache-Control"] = "no-store"
    return response
