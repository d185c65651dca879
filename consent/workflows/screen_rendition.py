"""The screen-sized copy of a photo for the tablet: made once from the checked original on first
view, stored encrypted with the patient's data key beside it, read back afterwards
(consent.media.screen says why and how)."""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

from consent.db import AnySession
from consent.errors import Gone, IntegrityFailure, InvalidInput, ServiceBusy
from consent.media.fingerprints import IMAGE_TYPES
from consent.media.models import MediaItem
from consent.media.screen import screen_copy, screen_id, screen_media_type
from consent.media.subjects import media_key
from consent.runtime import Runtime
from consent.workflows.masked_video import prepare_masked_video
from consent.workflows.screen_video import prepare_screen_video

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScreenCopy:
    data: bytes
    media_type: str


def screen_rendition(
    session: AnySession, rt: Runtime, item: MediaItem, *, uploaded: bool = False
) -> ScreenCopy:
    """The photo's screen copy, made and stored on first use.

    ``uploaded``: the item was just added in ``session``; its copy goes if that transaction is
    rolled back.

    Raises InvalidInput for a video (it is streamed as it is), Gone once the patient was
    erased, IntegrityFailure when the stored original is not the media item's (no copy is made
    of other bytes) or the stored copy was altered (the vault's authenticated encryption),
    StoredFileMissing when the original is missing, ServiceBusy when no decode slot frees up.
    """
    if item.media_type not in IMAGE_TYPES:
        raise InvalidInput(f"Media item {item.id} is a {item.media_type}, not a photo.")
    if item.bytes_erased_at is not None:
        raise Gone(f"The patient of media item {item.id} was erased; its bytes are gone.")
    key = media_key(session, rt.vault, item)
    copy_id = screen_id(item.id)
    if rt.files.holds(copy_id):
        data = b"".join(rt.files.read(media_id=copy_id, data_key=key))
        return ScreenCopy(data, screen_media_type(data))
    original = b"".join(rt.files.read(media_id=item.id, data_key=key))
    if hashlib.sha256(original).hexdigest() != item.sha256:
        raise IntegrityFailure(f"The stored bytes of media item {item.id} are not its own.")
    data, media_type = screen_copy(original, max_pixels=rt.settings.max_image_pixels)
    # Whole or not at all (the store writes a temporary file and renames it); two first views
    # at once write the same bytes twice, harmlessly.
    if uploaded:
        rt.files.put_for(session, media_id=copy_id, data_key=key, source=io.BytesIO(data))
    else:
        rt.files.put(media_id=copy_id, data_key=key, source=io.BytesIO(data))
    return ScreenCopy(data, media_type)


def prepare_screen_rendition(session: AnySession, rt: Runtime, item: MediaItem) -> None:
    """Make a just-uploaded photo's screen copy now, so that the tablet's first view does not
    wait for it; when no decode slot frees up, leave it to that first view (never fail the
    upload for it). A video's copies, for the screen and with the faces hidden, are started in
    the background once the upload commits (consent.workflows.screen_video, masked_video)."""
    if item.media_type not in IMAGE_TYPES:
        prepare_screen_video(session, rt, item)
        prepare_masked_video(session, rt, item)
        return
    try:
        screen_rendition(session, rt, item, uploaded=True)
    except ServiceBusy:
        log.info("screen copy left to first view", extra={"fields": {"media_id": item.id}})
