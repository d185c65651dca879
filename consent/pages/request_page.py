"""The clinician's page of one request: what the consent allows today use by use (withdrawn,
expired, erased included), the photos, the hand-over to the tablet or paper, the confirmation,
the downloads and the timeline; and the status answer it polls to update itself.

Routes of the clinician blueprint (registered with it)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, flash, jsonify, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from consent.consents import signing
from consent.consents.decisions import consent_for_request, get_consent
from consent.consents.models import ConsentRequest, Withdrawal
from consent.consents.paper import paper_scan
from consent.consents.requests import get_request, group_of, request_media, requested_uses
from consent.consents.requests import request_form as form_of
from consent.db import db
from consent.documents.qr import qr_svg
from consent.errors import ConsentError, Gone
from consent.media.faces import parse_faces
from consent.media.models import MediaItem
from consent.media.service import get_media
from consent.pages.clinician import blp
from consent.pages.face_boxes import boxes_editable, masked_copies
from consent.patients.service import identity
from consent.web.context import runtime
from consent.web.media import media_response
from consent.web.pdf import pdf_response
from consent.web.staff import staff, staff_required, staff_scope
from consent.workflows.consent_today import ordered_choices, timeline, uses_today, verify_today
from consent.workflows.decide import confirm_on_tablet
from consent.workflows.documents import form_job, receipt_job
from consent.workflows.withdrawal_documents import withdrawal_receipt_job
from consent.workflows.worklist import request_state

__all__ = ["blp", "render_request", "show_link_once"]

# The tablet link made by a POST is carried to the page in the (sealed) session and shown
# once there: a POST answered by a redirect, so that reloading the page never sends the form
# again (a second request, a second upload) and the link never sits in the browser's history.
_LINK_TO_SHOW = "tablet_link_to_show"


def show_link_once(request_id: str, link_url: str) -> ResponseReturnValue:
    """Redirect to the request's page, which shows ``link_url`` once."""
    session[_LINK_TO_SHOW] = {"request": request_id, "url": link_url}
    return redirect(url_for("clinician.request_page", request_id=request_id))


def _request(request_id: str) -> ConsentRequest:
    try:
        return get_request(db.session, request_id, scope=staff_scope())
    except ConsentError:
        abort(404)


def _version(request_id: str) -> str:
    """Changes whenever what the page shows of the request's state changes."""
    consent = consent_for_request(db.session, request_id)
    withdrawals = (
        len(
            db.session.scalars(
                select(Withdrawal.id).where(Withdrawal.consent_id == consent.id)
            ).all()
        )
        if consent
        else 0
    )
    return f"{request_state(db.session, staff_scope(), request_id)}.{withdrawals}"


@blp.get("/requests/<request_id>")
@staff_required
def request_page(request_id: str) -> str:
    shown = session.get(_LINK_TO_SHOW)
    link_url = None
    if isinstance(shown, dict) and shown.get("request") == request_id:
        link_url = session.pop(_LINK_TO_SHOW)["url"]
    return render_request(request_id, link_url=link_url)


def render_request(request_id: str, *, link_url: str | None) -> str:
    consent_request = _request(request_id)
    session, scope = db.session, staff_scope()
    try:
        who: dict[str, str] | None = identity(
            session, runtime().vault, consent_request.patient_id, scope=scope
        )
    except Gone:
        who = None
    pending = signing.pending_for(session, request_id)
    consent = consent_for_request(session, request_id)
    form, definition = form_of(session, consent_request)
    media = request_media(session, request_id) if who is not None else []
    return render_template(
        "clinician/request.html",
        group=_group(consent_request),
        request=consent_request,
        identity=who,
        form=form,
        state=request_state(session, scope, request_id),
        version=_version(request_id),
        uses=[use.purpose for use in requested_uses(session, request_id)],
        definition=definition,
        media=media,
        faces={item.id: parse_faces(item.faces) for item in media},
        faces_editable=boxes_editable(consent_request),
        masked=masked_copies(media),
        link_url=link_url,
        link_minutes=runtime().settings.signing_link_minutes,
        qr=qr_svg(link_url, label=_("QR code of the tablet link")) if link_url else None,
        pending=ordered_choices(session, request_id, json.loads(pending.choices))
        if pending
        else None,
        consent=consent,
        today=uses_today(session, consent, erased=who is None) if consent else [],
        events=timeline(session, consent_request, consent),
        verified=verify_today(
            session,
            runtime().keyring,
            media,
            [use.purpose for use in requested_uses(session, request_id)],
        ),
    )


def _group(consent_request: ConsentRequest) -> list[dict[str, Any]]:
    """The other people the request's photos show, each with their own request and its state
    (one request per subject: each decides for themselves)."""
    session, scope = db.session, staff_scope()
    members = []
    for member in group_of(session, consent_request):
        if member.id == consent_request.id:
            continue
        try:
            name: str | None = identity(session, runtime().vault, member.patient_id, scope=scope)[
                "name"
            ]
        except Gone:
            name = None
        members.append(
            {"request": member, "name": name, "state": request_state(session, scope, member.id)}
        )
    return members


@blp.get("/requests/<request_id>/status")
@staff_required
def request_status(request_id: str) -> ResponseReturnValue:
    """The request's state, for its page to update itself: no name, no choice."""
    _request(request_id)
    state = request_state(db.session, staff_scope(), request_id)
    messages = {
        "waiting_confirmation": _("The patient has signed: confirm below."),
        "withdrawn": _("The patient withdrew their consent."),
        "partly_withdrawn": _("The patient withdrew a use."),
    }
    return jsonify(
        {
            "state": state,
            "version": _version(request_id),
            "message": messages.get(state, _("The page was updated.")),
        }
    )


@blp.get("/media/<media_id>")
@staff_required
def media_file(media_id: str) -> ResponseReturnValue:
    """A photo or video of a patient of the caller's teams, decrypted, never cached."""
    try:
        item: MediaItem = get_media(db.session, media_id, scope=staff_scope())
    except ConsentError:
        abort(404)
    return media_response(item)


@blp.get("/consents/<consent_id>/receipt.pdf")
@staff_required
def receipt_pdf(consent_id: str) -> ResponseReturnValue:
    """The patient's receipt, the same document as the API's."""
    get_consent(db.session, consent_id, scope=staff_scope())
    return pdf_response(receipt_job(db.session, runtime(), consent_id, scope=staff_scope()))


@blp.get("/consents/<consent_id>/paper-scan")
@staff_required
def paper_scan_file(consent_id: str) -> ResponseReturnValue:
    """The scan of a paper consent, checked against its receipt, the same bytes as the API's."""
    rt = runtime()
    data, media_type = paper_scan(
        db.session, rt.keyring, rt.vault, rt.files, consent_id, scope=staff_scope()
    )
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[media_type]
    response = Response(data, mimetype=media_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{consent_id}-paper-form.{extension}"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/withdrawals/<withdrawal_id>/receipt.pdf")
@staff_required
def withdrawal_pdf(withdrawal_id: str) -> ResponseReturnValue:
    """A withdrawal's receipt, the same document as the API's."""
    return pdf_response(
        withdrawal_receipt_job(db.session, runtime(), withdrawal_id, scope=staff_scope())
    )


@blp.get("/requests/<request_id>/form.pdf")
@staff_required
def request_form(request_id: str) -> Any:
    """The blank paper form, the same bytes as the API's, for the print button."""
    return pdf_response(form_job(db.session, runtime(), request_id, scope=staff_scope()))


@blp.post("/requests/<request_id>/link")
@staff_required
def create_link(request_id: str) -> Any:
    """A new tablet link (earlier ones stop working), shown once, in this answer only."""
    _request(request_id)
    rt = runtime()
    try:
        issued = signing.issue_link(
            db.session,
            request_id=request_id,
            minutes=rt.settings.signing_link_minutes,
            scope=staff_scope(),
        )
    except ConsentError as exc:
        db.session.rollback()
        flash(exc.message)
        return redirect(url_for("clinician.request_page", request_id=request_id))
    db.session.commit()
    return show_link_once(request_id, rt.links.signing(issued.token))


@blp.post("/requests/<request_id>/confirm")
@staff_required
def confirm(request_id: str) -> Any:
    _request(request_id)
    try:
        confirm_on_tablet(
            db.session, runtime(), request_id=request_id, account=staff(), scope=staff_scope()
        )
    except ConsentError as exc:
        db.session.rollback()
        flash(exc.message)
    else:
        db.session.commit()
    return redirect(url_for("clinician.request_page", request_id=request_id))
