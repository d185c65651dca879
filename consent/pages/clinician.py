"""The clinician's pages: a patient, their requests, a new request with its media. The
worklist (worklist.py), the request page with the hand-over and the confirmation
(request_page.py) and the log-in (login.py) add their routes to this blueprint."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from consent import clock
from consent.consents import signing
from consent.consents.requests import UseRequest, open_request
from consent.consents.uses import CHANNEL, PURPOSES
from consent.db import db
from consent.errors import ConsentError
from consent.forms.models import FormVersion
from consent.media.service import add_media
from consent.patients.models import Patient
from consent.patients.service import get_patient, identity, register_patient
from consent.web.context import runtime
from consent.web.guards import plain_file_name
from consent.web.staff import staff, staff_required, staff_scope, staff_teams
from consent.workflows.worklist import Filters, worklist

blp = Blueprint("clinician", __name__, url_prefix="/clinician")
MAX_FILES = 10
# The uses published somewhere that can be limited to some platforms (channels); the others
# (medical record, teaching, survey) are not asked where.
CHANNEL_USES = ("professional_network", "public_social_network", "journal_publication")


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
    page = request.args.get("page", "1")
    number = min(int(page), 10_000) if page.isdigit() and int(page) > 0 else 1
    found = worklist(
        db.session, runtime().vault, staff_scope(), Filters(page=number), patient_id=patient.id
    )
    return render_template(
        "clinician/patient.html",
        patient=patient,
        identity=identity(db.session, runtime().vault, patient_id, scope=staff_scope()),
        page=found,
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


def _default_form(forms: list[dict[str, Any]]) -> str:
    """The first form in the interface's language (else the first form at all)."""
    language = str(get_locale() or "en")
    chosen = next((f for f in forms if f["form"].language == language), forms[0] if forms else None)
    return f"{chosen['form'].form_id}:{chosen['form'].language}" if chosen else ""


@blp.route("/patients/<patient_id>/requests/new", methods=["GET", "POST"])
@staff_required
def new_request(patient_id: str) -> Any:
    patient = _patient(patient_id)
    forms = _forms()
    rt = runtime()
    errors: dict[str, str] = {}
    default_end = clock.now().date() + timedelta(days=rt.settings.consent_days)
    values: dict[str, Any] = {
        "purposes": [],
        "channels": {},
        "expires": default_end.isoformat(),
        "form": _default_form(forms),
    }
    if request.method == "POST":
        values = {
            "form": request.form.get("form", ""),
            "purposes": [p for p in request.form.getlist("purposes") if p in PURPOSES],
            "channels": {p: request.form.get(f"channels-{p}", "")[:300] for p in CHANNEL_USES},
            "expires": request.form.get("expires", "")[:20],
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
        for purpose in [p for p in PURPOSES if p in values["purposes"]]:
            channels = [
                c.strip().lower()
                for c in values["channels"].get(purpose, "").split(",")
                if c.strip()
            ]
            if any(not CHANNEL.fullmatch(c) for c in channels):
                errors[f"channels-{purpose}"] = _("Platforms are short lower-case names.")
            uses.append(UseRequest(purpose, channels))
        try:
            expires = datetime.combine(date.fromisoformat(values["expires"]), time(23, 59), UTC)
        except ValueError:
            # The browser's date field shows the date in the person's own format: name none.
            errors["expires"] = _("Choose the day the consent ends.")
        if not errors:
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
                issued = (
                    signing.issue_link(
                        db.session,
                        request_id=consent_request.id,
                        minutes=rt.settings.signing_link_minutes,
                        scope=staff_scope(),
                    )
                    if request.form.get("then") == "tablet"
                    else None
                )
            except ConsentError as exc:
                db.session.rollback()
                if "expires_at" in exc.errors:
                    errors["expires"] = _("Choose a day in the future, at most 10 years ahead.")
                else:
                    errors["form"] = exc.message
            else:
                db.session.commit()
                if issued is not None:
                    from consent.pages.request_page import render_request

                    return render_request(
                        consent_request.id, link_url=rt.links.signing(issued.token)
                    )
                return redirect(url_for("clinician.request_page", request_id=consent_request.id))
    return render_template(
        "clinician/new_request.html",
        patient=patient,
        identity=identity(db.session, rt.vault, patient.id, scope=staff_scope()),
        forms=forms,
        purposes=PURPOSES,
        channel_uses=CHANNEL_USES,
        channels_open=any(values["channels"].values())
        or any(key.startswith("channels-") for key in errors),
        values=values,
        errors=errors,
    ), (422 if errors else 200)
