"""The clinician's pages of the paper path: upload the scan of the signed form, enter the
choices as ticked, then hand the patient their withdrawal code.

/clinician/requests/<id>/paper is stable per request: the printed form's QR code opens it.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from consent.consents import paper
from consent.consents.decisions import Signer, consent_for_request, withdrawal_code
from consent.consents.models import ConsentRequest
from consent.consents.requests import get_request, request_form, request_media, requested_uses
from consent.consents.uses import FACE_HIDDEN, RELATIONSHIPS
from consent.db import db
from consent.documents.qr import qr_svg
from consent.errors import (
    Conflict,
    ConsentError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from consent.forms.glossary import use_label
from consent.media.scans import SCAN_TYPES
from consent.pages.labels import PURPOSE_LABELS
from consent.patients.service import identity
from consent.web.context import runtime
from consent.web.errors import status_of
from consent.web.guards import plain_file_name
from consent.web.staff import staff, staff_recorder, staff_required, staff_scope
from consent.workflows.decide import record_on_paper
from consent.workflows.face_mask import faces_to_hide

blp = Blueprint("paper", __name__, url_prefix="/clinician/requests")
ANSWERS = ("granted", "face_hidden", "refused")
# Errors the service reports about the decision itself rather than the scan.
DECISION_FIELDS = {"choices", "signer", "entered_by"}


def _open_request(request_id: str) -> ConsentRequest:
    """The request, if one of this clinician's teams' and open for a paper decision; else 404.

    Raises Conflict when it is decided or signed on the tablet.
    """
    try:
        return paper.paper_request(db.session, request_id, scope=staff_scope())
    except NotFound:
        abort(404)


@blp.route("/<request_id>/paper", methods=["GET", "POST"])
@staff_required
def paper_form(request_id: str) -> Any:
    """The scan and the choices as ticked on the signed paper form."""
    try:
        consent_request = _open_request(request_id)
    except Conflict as exc:
        if request.method == "POST":
            raise
        flash(exc.message)
        return redirect(url_for("clinician.request_page", request_id=request_id))
    uses = [
        {"purpose": use.purpose, "channels": json.loads(use.channels)}
        for use in requested_uses(db.session, request_id)
    ]
    representative_only = paper.representative_only(db.session, consent_request)
    values: dict[str, Any] = {
        "choices": {},
        "role": "legal_representative" if representative_only else "",
        "name": "",
        "relationship": "",
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {
            "choices": {use["purpose"]: request.form.get(use["purpose"], "") for use in uses},
            "role": request.form.get("role", ""),
            "name": request.form.get("name", "").strip()[:200],
            "relationship": request.form.get("relationship", ""),
        }
        errors = _check(values, uses, representative_only)
        scan = request.files.get("scan")
        if scan is None or not scan.filename:
            errors["scan"] = _("Choose the file of the scanned paper form.")
        elif not plain_file_name(scan.filename):
            errors["scan"] = _("A file name holds folders or strange characters. Rename the file.")
        if errors:
            status = 422
        else:
            assert scan is not None
            representative = values["role"] == "legal_representative"
            try:
                consent = record_on_paper(
                    db.session,
                    runtime(),
                    request_id=request_id,
                    scope=staff_scope(),
                    signer=Signer(
                        values["role"],
                        values["name"] if representative else None,
                        values["relationship"] if representative else None,
                    ),
                    choices={
                        p: FACE_HIDDEN if value == "face_hidden" else value == "granted"
                        for p, value in values["choices"].items()
                    },
                    scan=scan.stream,
                    entered_by=staff(),
                    recorded_by=staff_recorder(consent_request.team_id),
                )
            except (UnsupportedMediaType, PayloadTooLarge, InvalidInput, Conflict) as exc:
                if isinstance(exc, Conflict) and not set(exc.errors) & DECISION_FIELDS:
                    raise
                # A video's face-hidden version not ready is said on the form (a Conflict).
                db.session.rollback()
                errors.update(_scan_or_decision_error(exc))
                status = status_of(exc)
            else:
                db.session.commit()
                return redirect(url_for("paper.done", request_id=consent.request_id))
    if errors:
        # The browser forgets the chosen file: say so, so that nobody thinks it was kept.
        errors.setdefault("scan", _("Choose the file of the scanned paper form again."))
    return render_template(
        "clinician/paper.html",
        request=consent_request,
        identity=identity(
            db.session, runtime().vault, consent_request.patient_id, scope=staff_scope()
        ),
        uses=uses,
        face_hidden=faces_to_hide(request_media(db.session, consent_request.id)),
        values=values,
        errors=errors,
        anchors=_anchors(errors, uses, representative_only),
        relationships=RELATIONSHIPS,
        representative_only=representative_only,
        accept=",".join(SCAN_TYPES),
        max_mb=runtime().settings.max_scan_bytes // (1024 * 1024),
    ), status


def _check(
    values: dict[str, Any], uses: list[dict[str, Any]], representative_only: bool
) -> dict[str, str]:
    """The page's own checks, one message per field, in the order the fields appear."""
    errors: dict[str, str] = {}
    for use in uses:
        if values["choices"][use["purpose"]] not in ANSWERS:
            errors[use["purpose"]] = _(
                "Say whether “%(use)s” was ticked as allowed or refused.",
                use=PURPOSE_LABELS[use["purpose"]],
            )
    if values["role"] not in ("patient", "legal_representative"):
        errors["role"] = _("Say who signed the paper form.")
    elif representative_only and values["role"] != "legal_representative":
        errors["role"] = _("This form is signed by the patient's legal representative.")
    elif values["role"] == "legal_representative":
        if not values["name"]:
            errors["name"] = _("Write the legal representative's full name.")
        if values["relationship"] not in RELATIONSHIPS:
            errors["relationship"] = _("Say how they represent the patient.")
    return errors


def _scan_or_decision_error(exc: ConsentError) -> dict[str, str]:
    if isinstance(exc, UnsupportedMediaType):
        return {"scan": _("This file is not a PDF, JPEG or PNG. Scan the signed form again.")}
    if isinstance(exc, PayloadTooLarge):
        mb = runtime().settings.max_scan_bytes // (1024 * 1024)
        return {"scan": _("The file is larger than %(mb)s MB. Scan at a lower resolution.", mb=mb)}
    if set(exc.errors) & DECISION_FIELDS:
        return {"form": exc.message}
    return {
        "scan": _(
            "This file cannot be read: it is damaged, cut short, protected by a password, or "
            "too large in pixels. Scan the signed form again."
        )
    }


def _anchors(
    errors: dict[str, str], uses: list[dict[str, Any]], representative_only: bool
) -> dict[str, str]:
    """The element each error in the summary links to (the first control of its field)."""
    anchors = {use["purpose"]: f"{use['purpose']}-granted" for use in uses}
    anchors["role"] = "role-representative" if representative_only else "role-patient"
    anchors["form"] = "paper-form"
    return {field: anchors.get(field, field) for field in errors}


@blp.get("/<request_id>/paper/done")
@staff_required
def done(request_id: str) -> Any:
    """What was recorded, the QR code of the public page, the withdrawal code to hand over."""
    try:
        consent_request = get_request(db.session, request_id, scope=staff_scope())
    except NotFound:
        abort(404)
    consent = consent_for_request(db.session, request_id)
    if consent is None or consent.method != "paper":
        return redirect(url_for("clinician.request_page", request_id=request_id))
    receipt = json.loads(consent.receipt)
    # The code is handed over by whoever entered the form, or the clinician who informed.
    if staff().id not in (consent_request.account_id, receipt["recorded_by"].get("account")):
        raise Forbidden("Only the clinician who entered the form can see the code.")
    form, definition = request_form(db.session, consent_request)
    rt = runtime()
    public_url = rt.links.consent_page(consent.id)
    try:
        code = withdrawal_code(db.session, rt.vault, consent)
    except ConsentError:
        code = None
    return render_template(
        "clinician/paper_done.html",
        request=consent_request,
        consent=consent,
        receipt=receipt,
        labels={p: {"label": use_label(p, form.language)} for p in definition["purposes"]},
        public_url=public_url,
        qr=qr_svg(public_url, label=_("QR code of the page that shows this consent")),
        code=code,
    )
