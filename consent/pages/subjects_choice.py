"""The new request page's two questions about who is in the photos (issue 19): the other
patients seen in them (by record number), and, for a photo the team already holds, whether it
is the same person, another person in the same picture, or a mistake."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from consent.accounts.scope import Scope
from consent.db import db
from consent.errors import ConsentError
from consent.media.models import MediaItem, MediaSubject
from consent.media.subjects import add_subject
from consent.patients.models import Patient
from consent.patients.service import identity
from consent.runtime import Runtime

# The most other people a clinician names on one request.
MAX_OTHERS = 10
CHOICES = ("reuse", "add_subject", "cancel")


def other_subjects(rt: Runtime, patient: Patient, text: str, errors: dict[str, str]) -> list[str]:
    """The patients of ``patient``'s team with the record numbers in ``text`` (one a line);
    an error in ``errors["others"]`` for a number no patient of the team has."""
    numbers = [line.strip() for line in text.splitlines() if line.strip()]
    if len(numbers) > MAX_OTHERS:
        errors["others"] = _("At most %(n)s other people.", n=MAX_OTHERS)
        return []
    found: list[str] = []
    for number in numbers:
        patient_id = db.session.scalar(
            select(Patient.id).where(
                Patient.team_id == patient.team_id,
                Patient.record_lookup == rt.vault.record_lookup(number),
                Patient.erased_at.is_(None),
            )
        )
        if patient_id is None:
            errors["others"] = _(
                "No patient of the team has the record number %(number)s. Add them as a "
                "patient first.",
                number=number[:40],
            )
            return []
        if patient_id != patient.id and patient_id not in found:
            found.append(patient_id)
    return found


def add_others(rt: Runtime, scope: Scope, media_ids: list[str], others: list[str]) -> None:
    """Make each of ``others`` a subject of each media item (once)."""
    for media_id in media_ids:
        for other in others:
            if db.session.get(MediaSubject, (media_id, other)) is None:
                add_subject(
                    db.session,
                    rt.vault,
                    rt.files,
                    media_id=media_id,
                    patient_id=other,
                    scope=scope,
                    added_by="page",
                )


def resolved_duplicate(
    rt: Runtime, scope: Scope, patient: Patient, form: Any, errors: dict[str, str]
) -> str | None:
    """The stored item the clinician chose to use, after being told a photo was already
    stored: the same person (reuse; they must be a subject of it), or another person in the
    same picture (the patient is added to it). None for no choice or a mistake (cancel)."""
    media_id = str(form.get("duplicate_of", ""))[:40]
    choice = str(form.get("duplicate_choice", ""))
    if not media_id or choice not in CHOICES or choice == "cancel":
        return None
    item = db.session.get(MediaItem, media_id)
    if item is None or not scope.allows(item.team_id) or item.team_id != patient.team_id:
        return None
    shown = db.session.get(MediaSubject, (media_id, patient.id)) is not None
    if choice == "reuse":
        if not shown:
            errors["duplicate"] = _(
                "The stored photo is of another patient. If both are in the picture, choose "
                "“another person in the same picture”."
            )
            return None
        return media_id
    if not shown:
        try:
            add_others(rt, scope, [media_id], [patient.id])
        except ConsentError as exc:
            errors["duplicate"] = exc.message
            return None
    return media_id


def duplicate_info(rt: Runtime, scope: Scope, duplicate: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of the stored item a new photo matches: who it shows, and how."""
    subjects = db.session.scalars(
        select(MediaSubject.patient_id).where(MediaSubject.media_id == duplicate["media_id"])
    ).all()
    names = []
    for subject in subjects:
        try:
            names.append(identity(db.session, rt.vault, subject, scope=scope)["name"])
        except ConsentError:
            names.append(_("an erased patient"))
    return {**duplicate, "names": names}
