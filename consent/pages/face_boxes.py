"""The faces of a request's photos and videos, for the clinician (issue 19): each photo (a
video's frame where a face was found) with the boxes found at upload drawn on it, and a form to
add, move or remove boxes (their pixel coordinates, keyboard-usable) until the patient opens the
request. The masked copy hides what these boxes say. Routes of the clinician blueprint
(consent.pages.clinician)."""

from __future__ import annotations

import io
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from PIL import Image, ImageDraw
from sqlalchemy import select

from consent.consents.models import ConsentRequest, SigningLink
from consent.consents.requests import get_request, request_media
from consent.db import db
from consent.errors import Conflict, ConsentError, InvalidInput, NotFound
from consent.media.faces import FaceBox, parse_faces, turned_size, upright
from consent.media.fingerprints import IMAGE_TYPES
from consent.media.models import MediaItem, MediaRendition
from consent.media.screen import screen_copy
from consent.media.service import MAX_FACE_BOXES, get_media, set_faces
from consent.media.subjects import media_key
from consent.pages.clinician import blp
from consent.web.context import runtime
from consent.web.media import photo_response
from consent.web.staff import staff_required, staff_scope
from consent.workflows.face_mask import FACE_MASKED, recorded_masked_copy
from consent.workflows.masked_video import prepare_masked_video, video_still

__all__ = ["blp", "boxes_editable", "masked_copies"]


def boxes_editable(consent_request: ConsentRequest) -> bool:
    """Boxes can change until the patient opens the request (what they see is then fixed)."""
    if consent_request.status != "open":
        return False
    opened = db.session.scalar(
        select(SigningLink.id).where(
            SigningLink.request_id == consent_request.id, SigningLink.opened_at.is_not(None)
        )
    )
    return opened is None


@blp.get("/media/<media_id>/faces")
@staff_required
def faces_image(media_id: str) -> ResponseReturnValue:
    """The photo (or a video's frame), screen-sized, with each face box drawn and numbered as
    in the form."""
    try:
        item: MediaItem = get_media(db.session, media_id, scope=staff_scope())
    except ConsentError:
        abort(404)
    if item.bytes_erased_at is not None:
        abort(404)
    rt = runtime()
    if item.media_type in IMAGE_TYPES:
        key = media_key(db.session, rt.vault, item)
        original = b"".join(rt.files.read(media_id=item.id, data_key=key))
        max_pixels = rt.settings.max_image_pixels
        image = upright(io.BytesIO(original), max_pixels=max_pixels, reduce=False)
    else:
        # A video: the frame where a face was found, in the detector's frame, where its boxes
        # (and the clinician's) are measured; each box is hidden for the whole video.
        frame = video_still(db.session, rt, item)
        if frame is None:
            abort(404)
        image = Image.open(io.BytesIO(frame))
    image = image.convert("RGB")
    draw = ImageDraw.Draw(image)
    width = max(3, image.size[0] // 300)
    for number, box in enumerate(parse_faces(item.faces) or [], start=1):
        draw.rectangle((box.x, box.y, box.x + box.w, box.y + box.h), outline="#ffd400", width=width)
        draw.text((box.x + width * 2, box.y + width * 2), str(number), fill="#ffd400")
    out = io.BytesIO()
    image.save(out, "PNG")
    shown, media_type = screen_copy(out.getvalue(), max_pixels=rt.settings.max_image_pixels)
    response: Response = photo_response(shown, media_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def masked_copies(media: list[MediaItem]) -> set[str]:
    """The ids of the items whose face-masked copy was recorded: a patient granted a use only
    with their face hidden, and the clinician needs that copy to publish."""
    ids = [item.id for item in media]
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(MediaRendition.media_id).where(
                MediaRendition.media_id.in_(ids), MediaRendition.kind == FACE_MASKED
            )
        )
    )


@blp.get("/media/<media_id>/masked")
@staff_required
def masked_copy_file(media_id: str) -> ResponseReturnValue:
    """The face-hidden copy as the patient saw it and as recorded, to download and publish
    where the original may not be (verify: masked_only); the API's same bytes."""
    try:
        data, media_type, rendition = recorded_masked_copy(
            db.session, runtime(), media_id=media_id, scope=staff_scope()
        )
    except NotFound:
        abort(404)
    response = Response(data, mimetype=media_type)
    extension = media_type.split("/")[1].replace("jpeg", "jpg")
    name = f"face-hidden-{rendition.sha256[:16]}.{extension}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _inside_the_photo(item: MediaItem, boxes: list[FaceBox]) -> None:
    """A mistyped box (3500 for 350) would hide nothing: refused with the photo's size.

    Raises InvalidInput naming the first box that does not lie within the photo as shown.
    """
    rt = runtime()
    key = media_key(db.session, rt.vault, item)
    original = b"".join(rt.files.read(media_id=item.id, data_key=key))
    width, height = _photo_size(original, rt.settings.max_image_pixels)
    for number, box in enumerate(boxes, start=1):
        if box.x + box.w > width or box.y + box.h > height:
            raise InvalidInput(
                _(
                    "Box %(n)s goes beyond the photo, which is %(width)s pixels wide and "
                    "%(height)s high.",
                    n=number,
                    width=width,
                    height=height,
                )
            )


def _photo_size(original: bytes, max_pixels: int) -> tuple[int, int]:
    """The photo's size as shown (EXIF orientation applied), read from its header."""
    with Image.open(io.BytesIO(original)) as image:
        if image.size[0] * image.size[1] > max_pixels:
            raise InvalidInput(_("The photo has more pixels than the limit."))
        return turned_size(image.size, image)


def _boxes_from_form(form: Any) -> list[FaceBox]:
    """Rows box-N-x/y/w/h (N from 1), a row left empty or ticked box-N-remove dropped."""
    boxes = []
    for number in range(1, MAX_FACE_BOXES + 2):
        values = [form.get(f"box-{number}-{part}", "").strip() for part in "xywh"]
        if not any(values) or form.get(f"box-{number}-remove"):
            continue
        try:
            x, y, w, h = (int(value) for value in values)
        except ValueError as exc:
            raise InvalidInput(_("Box %(n)s: four whole numbers of pixels.", n=number)) from exc
        if min(x, y) < 0 or min(w, h) < 1:
            raise InvalidInput(
                _(
                    "Box %(n)s: a left and top of 0 or more, a width and height of 1 or more.",
                    n=number,
                )
            )
        boxes.append(FaceBox(x, y, w, h, "clinician"))
    if len(boxes) > MAX_FACE_BOXES:
        raise InvalidInput(_("At most %(n)s face boxes a photo.", n=MAX_FACE_BOXES))
    return boxes


@blp.post("/requests/<request_id>/media/<media_id>/faces")
@staff_required
def save_faces(request_id: str, media_id: str) -> ResponseReturnValue:
    """Keep the boxes as the clinician set them; refused once the patient opened the request."""
    try:
        consent_request = get_request(db.session, request_id, scope=staff_scope())
    except ConsentError:
        abort(404)
    item = next((m for m in request_media(db.session, request_id) if m.id == media_id), None)
    if item is None:
        abort(404)
    target = url_for("clinician.request_page", request_id=request_id) + f"#faces-{media_id}"
    if not boxes_editable(consent_request):
        flash(_("The patient has opened this request: its face boxes can no longer change."))
        return redirect(target)
    try:
        boxes = _boxes_from_form(request.form)
        if item.media_type in IMAGE_TYPES:
            _inside_the_photo(item, boxes)
        set_faces(db.session, item, boxes)
        # A video's face-masked copy is made again for the new boxes once they are saved (a
        # photo's on its next view: the stored copy names the boxes it was made from).
        prepare_masked_video(db.session, runtime(), item)
    except (InvalidInput, Conflict) as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(target)
    db.session.commit()
    flash(_("The face boxes were saved."))
    return redirect(target)
