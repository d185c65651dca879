"""The clinician's new request: media, uses (platforms only where a use has them), end date
(a configured default), the form in the interface's language preselected; "create and make a
tablet link" in one step. A route of the clinician blueprint (registered with it)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from consent import clock
from consent.consents import signing
from consent.consents.case_texts import MAX_TEXT_CHARACTERS, screen_for_request
from consent.consents.requests import UseRequest, open_request
from consent.consents.text_norm import normalise
from consent.consents.uses import CHANNEL, PURPOSES
from consent.db import db
from consent.errors import ConsentError
from consent.forms.models import FormVersion
from consent.media.service import add_media
from consent.pages.clinician import MAX_FILES, blp, patient_or_404
from consent.pages.request_page import show_link_once
from consent.pages.subjects_choice import (
    add_others,
    duplicate_info,
    other_subjects,
    resolved_duplicate,
)
from consent.pages.text_findings import highlighted
from consent.patients.service import identity
from consent.settings import places
from consent.web.context import runtime
from consent.web.guards import plain_file_name
from consent.web.staff import staff, staff_required, staff_scope
from consent.workflows.screen_rendition import prepare_screen_rendition

__all__ = ["blp"]
# The uses published somewhere that can be limited to some platforms (channels); the others
# (medical record, teaching, survey) are not asked where.
CHANNEL_USES = ("professional_network", "public_social_network", "journal_publication")


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
    patient = patient_or_404(patient_id)
    forms = _forms()
    rt = runtime()
    errors: dict[str, str] = {}
    default_end = clock.now().date() + timedelta(days=rt.settings.consent_days)
    values: dict[str, Any] = {
        "purposes": [],
        "channels": {},
        "expires": default_end.isoformat(),
        "form": _default_form(forms),
        "case_text": "",
        "confirm_identifiers": False,
        "others": "",
        "duplicate": None,
    }
    findings: list[dict[str, Any]] = []
    if request.method == "POST":
        values = {
            "form": request.form.get("form", ""),
            "purposes": [p for p in request.form.getlist("purposes") if p in PURPOSES],
            "channels": {p: request.form.get(f"channels-{p}", "")[:300] for p in CHANNEL_USES},
            "expires": request.form.get("expires", "")[:20],
            "case_text": normalise(request.form.get("case_text", "")[: MAX_TEXT_CHARACTERS + 1]),
            "confirm_identifiers": request.form.get("confirm_identifiers") == "yes",
            "others": request.form.get("others", "")[:2000],
            "duplicate": None,
        }
        if len(values["case_text"]) > MAX_TEXT_CHARACTERS:
            errors["case_text"] = _("A text has at most %(n)s characters.", n=MAX_TEXT_CHARACTERS)
        if values["case_text"] and not errors:
            findings = _screened(patient.id, values["case_text"])
        if request.form.get("then") == "screen":
            return _page(patient, forms, values, errors, findings)
        form_id, _sep, language = values["form"].partition(":")
        files = [f for f in request.files.getlist("media") if f and f.filename][:MAX_FILES]
        chose_stored = request.form.get("duplicate_choice") in ("reuse", "add_subject")
        if not files and not chose_stored:
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
        others = other_subjects(rt, patient, values["others"], errors) if not errors else []
        if not errors:
            try:
                stored = resolved_duplicate(rt, staff_scope(), patient, request.form, errors)
                if errors:
                    raise ConsentError(errors["duplicate"])
                added = [
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
                        max_distance=rt.settings.phash_max_distance,
                        added_by=f"account:{staff().id}",
                    )
                    for f in files
                ]
                for item in added:
                    prepare_screen_rendition(db.session, rt, item)
                media_ids = ([stored] if stored else []) + [item.id for item in added]
                if not media_ids:
                    errors["media"] = _("Add at least one photo or video.")
                    raise ConsentError(errors["media"])
                add_others(rt, staff_scope(), media_ids, others)
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
                    texts=[values["case_text"]] if values["case_text"] else [],
                    confirm_identifiers=values["confirm_identifiers"],
                    vault=rt.vault,
                    places=places(rt.settings),
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
                if "duplicate" in exc.errors:
                    values["duplicate"] = duplicate_info(rt, staff_scope(), exc.errors["duplicate"])
                    errors["duplicate"] = _(
                        "This photo is already stored for this care team. Say who it shows "
                        "below. Your other files were not kept: choose them again."
                    )
                elif errors:
                    pass
                elif "expires_at" in exc.errors:
                    errors["expires"] = _("Choose a day in the future, at most 10 years ahead.")
                elif "texts.0" in exc.errors:
                    errors["case_text"] = _(
                        "The text names the patient, and a use is public. Remove the name or "
                        "record number, or confirm below that the patient agrees to be named."
                    )
                else:
                    errors["form"] = exc.message
            else:
                db.session.commit()
                if issued is not None:
                    return show_link_once(consent_request.id, rt.links.signing(issued.token))
                return redirect(url_for("clinician.request_page", request_id=consent_request.id))
    return _page(patient, forms, values, errors, findings)


def _screened(patient_id: str, text: str) -> list[dict[str, Any]]:
    """The text cut into plain and highlighted pieces (consent.pages.text_findings)."""
    rt = runtime()
    found = screen_for_request(
        db.session, rt.vault, patient_id=patient_id, texts=[text], places=places(rt.settings)
    )[0]
    return highlighted(text, found)


def _page(
    patient: Any,
    forms: list[dict[str, Any]],
    values: dict[str, Any],
    errors: dict[str, str],
    findings: list[dict[str, Any]],
) -> Any:
    rt = runtime()
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
        findings=findings,
        found=sum(1 for piece in findings if piece["labels"]),
    ), (422 if errors else 200)
