"""The end of the tablet flow: waiting for the clinician's confirmation, then the summary with
the withdrawal code and the receipt. Routes of the tablet blueprint (consent.pages.tablet)."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, redirect, render_template, session, url_for
from flask_babel import gettext as _

from consent.consents.decisions import consent_for_request, withdrawal_code
from consent.consents.requests import get_request, request_form
from consent.db import db
from consent.documents.qr import qr_svg
from consent.errors import ConsentError
from consent.pages.tablet import blp
from consent.web.context import runtime
from consent.web.pdf import pdf_response
from consent.workflows.documents import receipt_job

__all__ = ["blp"]


def _submitted_request() -> str:
    request_id = session.get("submitted")
    if not request_id:
        abort(404)
    return str(request_id)


@blp.get("/wait")
def wait() -> Any:
    request_id = _submitted_request()
    if consent_for_request(db.session, request_id) is not None:
        return redirect(url_for("tablet.done"))
    request_row = get_request(db.session, request_id)
    return render_template("tablet/wait.html", request=request_row, step=8)


@blp.get("/status")
def status() -> Any:
    """For the waiting page's script: has the clinician confirmed yet?"""
    request_id = _submitted_request()
    return {"confirmed": consent_for_request(db.session, request_id) is not None}


@blp.get("/receipt.pdf")
def receipt_pdf() -> Any:
    """The receipt as a PDF to keep, for the browser that signed it, once it is confirmed."""
    consent = consent_for_request(db.session, _submitted_request())
    if consent is None:
        abort(404)
    return pdf_response(receipt_job(db.session, runtime(), consent.id), download=True)


@blp.get("/done")
def done() -> Any:
    """What was agreed and refused, the QR code of the public page, the withdrawal code."""
    request_id = _submitted_request()
    consent = consent_for_request(db.session, request_id)
    if consent is None:
        return redirect(url_for("tablet.wait"))
    receipt = json.loads(consent.receipt)
    _form, definition = request_form(db.session, get_request(db.session, request_id))
    labels = definition["purposes"]
    # The address printed and encoded for the patient is the service's public one, whatever
    # host the tablet reached it through.
    rt = runtime()
    public_url = rt.links.consent_page(consent.id)
    withdraw_url = rt.links.withdraw_page()
    try:
        code = withdrawal_code(db.session, rt.vault, consent)
    except ConsentError:
        code = None
    return render_template(
        "tablet/done.html",
        consent=consent,
        receipt=receipt,
        labels=labels,
        public_url=public_url,
        qr=qr_svg(public_url, label=_("QR code of the page that shows this consent")),
        code=code,
        withdraw_url=withdraw_url,
        step=9,
    )
