"""The patient's faces on the tablet (issue 19): each photo's and video's face-masked copy shown
beside it (a photo's screen-sized, a video's as stored, in ranges) before the patient answers
"yes, only with my face hidden". Routes of the tablet blueprint (consent.pages.tablet)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort

from consent.db import db
from consent.media.faces import parse_faces
from consent.media.fingerprints import IMAGE_TYPES
from consent.media.models import MediaItem
from consent.media.screen import screen_copy
from consent.pages.tablet import blp, signing_step
from consent.web.context import runtime
from consent.web.media import photo_response
from consent.workflows.face_mask import masked_preview

__all__ = ["blp", "faces_seen"]


def faces_seen(media: list[MediaItem]) -> int:
    """How many of the request's photos and videos show a face (found, or drawn by the
    clinician)."""
    return sum(1 for item in media if parse_faces(item.faces))


@blp.get("/media/<media_id>/masked")
@signing_step
def masked_file(media_id: str, link: Any, ctx: dict[str, Any]) -> Response:
    """The photo or video with the faces hidden, as it would be recorded (a photo's
    screen-sized); only for the request this browser is signing; 404 while a video's copy is
    not ready."""
    item = next((m for m in ctx["media"] if m.id == media_id), None)
    if item is None:
        abort(404)
    rt = runtime()
    private_seconds = rt.settings.signing_link_minutes * 60
    mask = masked_preview(db.session, rt, item)
    if mask is None or mask.data is None:
        abort(404)
    if item.media_type not in IMAGE_TYPES:
        return photo_response(
            mask.data, mask.media_type, ranges=True, private_seconds=private_seconds
        )
    shown, media_type = screen_copy(mask.data, max_pixels=rt.settings.max_image_pixels)
    return photo_response(shown, media_type, private_seconds=private_seconds)
