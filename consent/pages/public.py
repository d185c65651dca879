"""Public pages, no log-in and no identity: what a consent allows, until when, and whether a
file is one of the items it covers."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _

from consent.errors import ConsentError, NotFound
from consent.verify.public import FileCheck, check_file, consent_status
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
    config = current_app.config
    try:
        result = check_file(
            consent_id,
            upload.stream,
            limit=config["CONSENT_MAX_FILE_CHECK_BYTES"],
            max_pixels=config["CONSENT_MAX_IMAGE_PIXELS"],
            max_distance=config["CONSENT_PHASH_MAX_DISTANCE"],
        )
    except NotFound:
        abort(404)
    except ConsentError as exc:
        if exc.status >= 500:
            raise
        problem = {
            413: _("This file is too large to check here."),
            415: _(
                "Only photos (JPEG, PNG, WebP) and videos (MP4, MOV, WebM, MKV) can be checked."
            ),
        }.get(exc.status, _("This file cannot be read: it is damaged, or holds something else."))
        return _page(consent_id, problem=problem, status=exc.status)
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
        consent = consent_status(consent_id)
    except NotFound:
        abort(404)
    page = render_template("public/consent.html", status=consent, result=result, problem=problem)
    return page, status
