"""The patient's own copy on their phone (issue 21): the page the QR code of the tablet's last
page opens, with the receipt PDF and the withdrawal code.

The address carries a token that lasts consent.consents.handoff.HANDOFF_MINUTES and works on the
first device that opens it (a random id kept in that browser's session). No account, no name:
only the consent's choices, its code and its receipt.
"""

from __future__ import annotations

import json
import math
import secrets
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session

from consent import clock
from consent.accounts.scope import EVERY_TEAM
from consent.consents.decisions import get_consent, withdrawal_code
from consent.consents.handoff import HandoffProblem, open_handoff
from consent.consents.models import Consent, ReceiptHandoff
from consent.db import db
from consent.errors import ConsentError
from consent.forms.glossary import use_label
from consent.web.context import runtime
from consent.web.extensions import limiter
from consent.web.i18n import LANGUAGES
from consent.web.pdf import pdf_response
from consent.web.ratelimits import limit_value, refused
from consent.workflows.documents import receipt_job

blp = Blueprint("phone", __name__, url_prefix="/r")


def _device() -> str:
    if "device" not in session:
        session["device"] = secrets.token_hex(16)
    return str(session["device"])


def _opened(token: str) -> tuple[Consent, ReceiptHandoff] | str:
    """The consent and phone link of ``token``, or why it cannot be used."""
    try:
        handoff = open_handoff(db.session, token, _device())
    except HandoffProblem as problem:
        return problem.reason
    db.session.commit()
    return get_consent(db.session, handoff.consent_id, scope=EVERY_TEAM), handoff


def _problem(reason: str) -> tuple[str, int]:
    return render_template("phone/problem.html", reason=reason), 410


@blp.get("/<token>")
# Codes that fail to open, per IP address, as for signing links.
@limiter.limit(limit_value("signing_link"), deduct_when=refused)
def receipt_page(token: str) -> Any:
    opened = _opened(token)
    if isinstance(opened, str):
        return _problem(opened)
    consent, handoff = opened
    receipt = json.loads(consent.receipt)
    language = receipt["form"]["language"]
    rt = runtime()
    try:
        code = withdrawal_code(db.session, rt.vault, consent)
    except ConsentError:
        return _problem("unknown")
    return render_template(
        "phone/receipt.html",
        token=token,
        receipt=receipt,
        form_language=language,
        labels={use["purpose"]: use_label(use["purpose"], language) for use in receipt["uses"]},
        code=code,
        # Minutes, not a clock time: the patient's phone and the service may not share a zone.
        minutes_left=max(1, math.ceil((handoff.expires_at - clock.now()).total_seconds() / 60)),
        withdraw_url=rt.links.withdraw_page(),
    )


@blp.get("/<token>/receipt.pdf")
@limiter.limit(limit_value("signing_link"), deduct_when=refused)
def receipt_pdf(token: str) -> Any:
    opened = _opened(token)
    if isinstance(opened, str):
        return _problem(opened)
    job = receipt_job(db.session, runtime(), opened[0].id, scope=EVERY_TEAM)
    return pdf_response(job, download=True)


@blp.post("/language")
def choose_language() -> Any:
    """Switch the language and stay on the same phone page."""
    if request.form.get("lang") in LANGUAGES:
        session["lang"] = request.form["lang"]
    target = request.form.get("next", "")
    if not target.startswith("/r/") or "//" in target:
        abort(404)
    return redirect(target)
