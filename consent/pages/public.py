"""Public pages, no log-in and no identity: what a consent allows, until when."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template

from consent.errors import NotFound
from consent.verify.public import consent_status

blp = Blueprint("public", __name__)
_CONSENT_ID = re.compile(r"cs_[0-9a-f]{32}")


@blp.get("/v/<consent_id>")
def consent_page(consent_id: str) -> str:
    """The page the QR code on a receipt opens."""
    if not _CONSENT_ID.fullmatch(consent_id):
        abort(404)
    try:
        status = consent_status(consent_id)
    except NotFound:
        abort(404)
    return render_template("public/consent.html", status=status)
