"""Public pages, no log-in and no identity: what a consent allows, until when, and whether a
file is one of the items it covers."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from consent.db import db
from consent.errors import ConsentError, NotFound
from consent.verify.public import FileCheck, check_file, consent_status
from consent.web.context import runtime
from consent.web.errors import status_of
from consent.web.extensions import limiter
from consent.web.ratelimits import limit_value

blp = Blueprint("public", __name__)
_CONSENT_ID = re.compile(r"cs_[0-9a-f]{32}")


@blp.get("/v/<consent_id>")
def consent_page(consent_id: str) -> str:
    """The page the QR code on a receipt opens."""
    return _page(consent_id)[0]


@blp.post("/v/<consent_id>")
# Every file checked costs a hash and an image decode: counted per IP address.
# (Shared under its name: web.ratelimits.hit_limits counts on the same counter from outside.)
@limiter.shared_limit(limit_value("file_check"), scope="file_check")
def check_a_file(consent_id: str) -> Any:
    """Anyone may drop a file to learn whether this consent covers it; nothing is kept."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(consent_id, problem=_("Please choose a file to check."), status=422)
    rt = runtime()
    try:
        result = check_file(
            db.session,
            rt.keyring,
            consent_id,
            upload.stream,
            limit=rt.settings.max_file_check_bytes,
            max_pixels=rt.settings.max_image_pixels,
            max_decoded_pixels=rt.settings.max_check_pixels,
            max_distance=rt.settings.phash_max_distance,
        )
    except NotFound:
        abort(404)
    except ConsentError as exc:
        status = status_of(exc)
        if status >= 500:
            raise
        problem = {
            413: _("This file is too large to check here."),
            415: _(
                "Only photos (JPEG, PNG, WebP) and videos (MP4, MOV, WebM, MKV) can be checked."
            ),
        }.get(status, _("This file cannot be read: it is damaged, or holds something else."))
        return _page(consent_id, problem=problem, status=status)
    return _page(consent_id, result=result)


def _page(
    consent_id: str,
    *,
    result: FileCheck | None = None,
    problem: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    if not _CONSENT_ID.fullmatch(consent_id):
        abort(404)
    try:
        consent = consent_status(db.session, runtime().keyring, consent_id)
    except NotFound:
        abort(404)
    page = render_template("public/consent.html", status=consent, result=result, problem=problem)
    return page, status
