"""The clinician's pages: a patient, their requests, a new request with its media. The
worklist (worklist.py), the request page with the hand-over and the confirmation
(request_page.py) and the log-in (login.py) add their routes to this blueprint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from consent.db import db
from consent.errors import ConsentError
from consent.patients.models import Patient
from consent.patients.service import get_patient, identity, register_patient
from consent.web.context import runtime
from consent.web.staff import staff_required, staff_scope, staff_teams
from consent.workflows.worklist import Filters, worklist

blp = Blueprint("clinician", __name__, url_prefix="/clinician")
MAX_FILES = 10


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
    patient = patient_or_404(patient_id)
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


def patient_or_404(patient_id: str) -> Patient:
    try:
        return get_patient(db.session, patient_id, scope=staff_scope())
    except ConsentError:
        abort(404)
