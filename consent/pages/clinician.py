"""The clinician's pages: log in, patients and their requests, a new request with its media,
the hand-over to the tablet (QR code or link), and the confirmation of the patient's decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from consent.consents import signing
from consent.consents.decisions import consent_for_request
from consent.consents.models import ConsentRequest
from consent.consents.requests import UseRequest, get_request, open_request, requested_uses
from consent.consents.uses import CHANNEL, PURPOSES
from consent.db import db
from consent.documents.qr import qr_svg
from consent.errors import ConsentError
from consent.forms.models import FormVersion
from consent.media.service import add_media
from consent.patients.listing import patients_page
from consent.patients.models import Patient
from consent.patients.service import get_patient, identity, register_patient
from consent.web.context import runtime
from consent.web.guards import plain_file_name
from consent.web.pdf import pdf_response
from consent.web.staff import staff, staff_required, staff_scope, staff_teams
from consent.workflows.decide import confirm_on_tablet
from consent.workflows.documents import form_job

blp = Blueprint("clinician", __name__, url_prefix="/clinician")
MAX_FILES = 10


@blp.get("/")
@staff_required
def dashboard() -> str:
    teams = {team.id: team for team in staff_teams()}
    page = patients_page(
        db.session,
        runtime().vault,
        team_ids=list(teams),
        number=request.args.get("page", 1, type=int) or 1,
        per_page=runtime().settings.dashboard_page_size,
    )
    # The page's requests in one query, not one per patient.
    requests: dict[str, list[ConsentRequest]] = {row.patient.id: [] for row in page.patients}
    for found in db.session.scalars(
        select(ConsentRequest)
        .where(ConsentRequest.patient_id.in_(list(requests)))
        .order_by(ConsentRequest.created_at.desc())
    ):
        requests[found.patient_id].append(found)
    rows = [
        {
            "patient": row.patient,
            "identity": row.identity,
            "requests": requests[row.patient.id],
            "team": teams[row.patient.team_id],
        }
        for row in page.patients
    ]
    return render_template(
        "clinician/dashboard.html", rows=rows, page=page, several_teams=len(teams) > 1
    )


@blp.route("/patients/new", methods=["GET", "POST"])
@staff_required
def new_patient() -> Any:
    errors: dict[str, Any] = {}
    teams = staff_teams()
    values = {"record_number": "", "name": "", "birth_date": "", "team": ""}
    if len(teams) == 1:
        values["team"] = teams[0].id
    if request.method == "POST":
        values = {key: request.form.get(key, "").strip()[:200] for key in values}
        if len(teams) == 1:
            values["team"] = teams[0].id
        if values["team"] not in {team.id for team in teams}:
            errors["team"] = _("Choose the team the patient is cared for by.")
        try:
            birth = datetime.strptime(values["birth_date"], "%Y-%m-%d").date()
        except ValueError:
            errors["birth_date"] = _("Give the birth date as year-month-day.")
        if not values["record_number"]:
            errors["record_number"] = _("The record number is required.")
        if not values["name"]:
            errors["name"] = _("The name is required.")
        if not errors:
            try:
                patient = register_patient(
                    db.session,
                    runtime().vault,
                    team_id=values["team"],
                    record_number=values["record_number"],
                    name=values["name"],
                    birth_date=birth,
                )
            except ConsentError as exc:
                db.session.rollback()
                errors["record_number"] = exc.message
            else:
                db.session.commit()
                return redirect(url_for("clinician.patient_page", patient_id=patient.id))
    return render_template(
        "clinician/new_patient.html", values=values, errors=errors, teams=teams
    ), (422 if errors else 200)


@blp.get("/patients/<patient_id>")
@staff_required
def patient_page(patient_id: str) -> str:
    patient = _patient(patient_id)
    requests = db.session.scalars(
        select(ConsentRequest)
        .where(ConsentRequest.patient_id == patient_id)
        .order_by(ConsentRequest.created_at.desc())
    ).all()
    return render_template(
        "clinician/patient.html",
        patient=patient,
        identity=identity(db.session, runtime().vault, patient_id, scope=staff_scope()),
        requests=requests,
    )


def _patient(patient_id: str) -> Patient:
    try:
        return get_patient(db.session, patient_id, scope=staff_scope())
    except ConsentError:
        abort(404)


def _forms() -> list[dict[str, Any]]:
    from consent.forms.readability import form_score

    rows = db.session.scalars(
        select(FormVersion).order_by(FormVersion.form_id, FormVersion.language)
    ).all()
    latest: dict[tuple[str, str], FormVersion] = {}
    for row in rows:
        key = (row.form_id, row.language)
        if key not in latest or row.version > latest[key].version:
            latest[key] = row
    return [
        {
            "form": row,
            "score": round(form_score(json.loads(row.definition), row.language), 1),
        }
        for row in latest.values()
    ]


@blp.route("/patients/<patient_id>/requests/new", methods=["GET", "POST"])
@staff_required
def new_request(patient_id: str) -> Any:
    patient = _patient(patient_id)
    forms = _forms()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"purposes": [], "channels": {}, "expires": "", "form": ""}
    if request.method == "POST":
        values = {
            "form": request.form.get("form", ""),
            "purposes": [p for p in request.form.getlist("purposes") if p in PURPOSES],
            "channels": {p: request.form.get(f"channels-{p}", "")[:300] for p in PURPOSES},
            "expires": request.form.get("expires", ""),
        }
        form_id, _sep, language = values["form"].partition(":")
        files = [f for f in request.files.getlist("media") if f and f.filename][:MAX_FILES]
        if not files:
            errors["media"] = _("Add at least one photo or video.")
        elif not all(plain_file_name(file.filename or "") for file in files):
            errors["media"] = _("A file name holds folders or strange characters. Rename the file.")
        if not values["purposes"]:
            errors["purposes"] = _("Choose at least one use to ask about.")
        uses = []
        for purpose in values["purposes"]:
            channels = [
                c.strip().lower() for c in values["channels"][purpose].split(",") if c.strip()
            ]
            if any(not CHANNEL.fullmatch(c) for c in channels):
                errors[f"channels-{purpose}"] = _("Channels are short lower-case names.")
            uses.append(UseRequest(purpose, channels))
        try:
            expires = datetime.combine(
                datetime.strptime(values["expires"], "%Y-%m-%d").date(), time(23, 59), UTC
            )
        except ValueError:
            errors["expires"] = _("Give the end date as year-month-day.")
        if not errors:
            rt = runtime()
            try:
                media_ids = [
                    add_media(
                        db.session,
                        rt.vault,
                        rt.files,
                        patient_id=patient.id,
                        scope=staff_scope(),
                        description="",
                        stream=f.stream,
                        limit=rt.settings.max_media_bytes,
                        max_pixels=rt.settings.max_image_pixels,
                    ).id
                    for f in files
                ]
                consent_request = open_request(
                    db.session,
                    patient_id=patient.id,
                    media_ids=media_ids,
                    form_id=form_id,
                    language=language,
                    uses=uses,
                    expires_at=expires,
                    clinician=staff(),
                    scope=staff_scope(),
                )
            except ConsentError as exc:
                db.session.rollback()
                errors["form"] = exc.message
            else:
                db.session.commit()
                return redirect(url_for("clinician.request_page", request_id=consent_request.id))
    return render_template(
        "clinician/new_request.html",
        patient=patient,
        identity=identity(db.session, runtime().vault, patient.id, scope=staff_scope()),
        forms=forms,
        purposes=PURPOSES,
        values=values,
        errors=errors,
    ), (422 if errors else 200)


@blp.get("/requests/<request_id>")
@staff_required
def request_page(request_id: str) -> str:
    return _render_request(request_id, link_url=None)


def _render_request(request_id: str, *, link_url: str | None) -> str:
    consent_request = _request(request_id)
    uses = [use.purpose for use in requested_uses(db.session, request_id)]
    pending = signing.pending_for(db.session, request_id)
    consent = consent_for_request(db.session, request_id)
    return render_template(
        "clinician/request.html",
        request=consent_request,
        identity=identity(
            db.session, runtime().vault, consent_request.patient_id, scope=staff_scope()
        ),
        uses=uses,
        link_url=link_url,
        qr=qr_svg(link_url, label=_("QR code of the tablet link")) if link_url else None,
        pending=json.loads(pending.choices) if pending else None,
        pending_row=pending,
        consent=consent,
        receipt=json.loads(consent.receipt) if consent else None,
    )


def _request(request_id: str) -> ConsentRequest:
    try:
        return get_request(db.session, request_id, scope=staff_scope())
    except ConsentError:
        abort(404)


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
    return _render_request(request_id, link_url=rt.links.signing(issued.token))


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
