"""Consent requests: what a clinician asks (these media, this form, these uses, until when)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from consent import clock
from consent.accounts.models import Account
from consent.accounts.scope import Scope
from consent.accounts.teams import is_member
from consent.consents.case_texts import add_texts
from consent.consents.group_forms import audience_of, fitted_form
from consent.consents.models import ConsentRequest, RequestMedia, RequestUse
from consent.crypto.vault import Vault
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import InvalidInput, NotFound
from consent.forms.models import FormVersion
from consent.media.models import MediaItem, MediaSubject
from consent.patients.models import Patient
from consent.patients.service import get_patient

# The longest a consent may run before it must be asked again.
MAX_CONSENT_YEARS = 10


@dataclass(frozen=True)
class UseRequest:
    purpose: str
    channels: list[str]


def open_request(
    session: AnySession,
    *,
    patient_id: str,
    media_ids: list[str],
    form_id: str,
    language: str,
    uses: list[UseRequest],
    expires_at: datetime,
    clinician: Account,
    scope: Scope,
    texts: list[str] | None = None,
    confirm_identifiers: bool = False,
    vault: Vault | None = None,
    places: tuple[str, ...] = (),
) -> ConsentRequest:
    """Open a request for these media and uses, in the patient's team, informed by
    ``clinician`` (a member of that team).

    ``texts`` are the case texts the patient reads in full (consent.consents.case_texts),
    screened first: they need the ``vault``.

    Raises NotFound (no such patient or media item in the caller's teams), Gone or InvalidInput.
    """
    patient = get_patient(session, patient_id, scope=scope)
    errors: dict[str, Any] = {}
    if len(set(media_ids)) != len(media_ids):
        errors["media_ids"] = ["Each media item may be listed once."]
    purposes = [use.purpose for use in uses]
    if len(set(purposes)) != len(purposes):
        errors["uses"] = ["Each purpose may be listed once."]
    now = clock.now()
    if expires_at.tzinfo is None:
        errors["expires_at"] = ["Give a time zone, e.g. 2027-06-30T00:00:00Z."]
    elif expires_at <= now:
        errors["expires_at"] = ["The expiry must be in the future."]
    elif expires_at > now + timedelta(days=365 * MAX_CONSENT_YEARS + 3):
        errors["expires_at"] = [f"A consent may last at most {MAX_CONSENT_YEARS} years."]
    if not is_member(session, account_id=clinician.id, team_id=patient.team_id):
        errors["clinician"] = [
            "The clinician who gives the information must be a member of the patient's team."
        ]
    if errors:
        raise InvalidInput("The request is not valid; see errors.", errors=errors)
    form = session.scalar(
        select(FormVersion)
        .where(FormVersion.form_id == form_id, FormVersion.language == language)
        .order_by(FormVersion.version.desc())
        .limit(1)
    )
    if form is None:
        raise InvalidInput(
            f"No form {form_id!r} in language {language!r}.", errors={"form": ["Unknown form."]}
        )
    found = [
        item
        for item in session.scalars(select(MediaItem).where(MediaItem.id.in_(media_ids)))
        if scope.allows(item.team_id)
    ]
    by_id = {item.id: item for item in found}
    missing = [media_id for media_id in media_ids if media_id not in by_id]
    if missing:
        raise NotFound(f"No media item {', '.join(missing)}.")
    shown = _subjects(session, media_ids)
    foreign = [media_id for media_id in media_ids if patient_id not in shown[media_id]]
    if foreign:
        raise InvalidInput(
            "Every media item must show this patient (be of this patient, or have them added "
            "as a subject).",
            errors={"media_ids": foreign},
        )
    # Everyone else the media show decides too, each on a request of their own: one request
    # per subject, sharing a group id (a request of one subject has none).
    others = sorted(
        {subject for media_id in media_ids for subject in shown[media_id]} - {patient_id}
    )
    group_id = new_id("rg") if others else None
    request = _request(
        session,
        patient_id,
        patient.team_id,
        form.id,
        expires_at,
        clinician,
        group_id,
        media_ids,
        uses,
    )
    for other in others:
        # Each reads the form written for them: a child beside an adult, or the reverse.
        fitted = (
            fitted_form(
                session,
                form,
                audience_of(session, vault, other, scope=scope, today=now.date()),
                purposes,
            )
            if vault is not None
            else form
        )
        sibling = _request(
            session,
            other,
            patient.team_id,
            fitted.id,
            expires_at,
            clinician,
            group_id,
            [media_id for media_id in media_ids if other in shown[media_id]],
            uses,
        )
        if texts:
            _texts(session, vault, sibling, texts, purposes, confirm_identifiers, clinician, places)
    if texts:
        _texts(session, vault, request, texts, purposes, confirm_identifiers, clinician, places)
    return request


def _subjects(session: AnySession, media_ids: list[str]) -> dict[str, set[str]]:
    """The subjects not erased of each media item."""
    shown: dict[str, set[str]] = {media_id: set() for media_id in media_ids}
    for media_id, subject in session.execute(
        select(MediaSubject.media_id, MediaSubject.patient_id)
        .join(Patient, Patient.id == MediaSubject.patient_id)
        .where(MediaSubject.media_id.in_(media_ids), Patient.erased_at.is_(None))
    ):
        shown[media_id].add(subject)
    return shown


def _texts(
    session: AnySession,
    vault: Vault | None,
    request: ConsentRequest,
    texts: list[str],
    purposes: list[str],
    confirm_identifiers: bool,
    clinician: Account,
    places: tuple[str, ...],
) -> None:
    if vault is None:
        raise InvalidInput("Case texts need the vault.", errors={"texts": ["Not accepted."]})
    add_texts(
        session,
        vault,
        request=request,
        texts=texts,
        purposes=purposes,
        confirm_identifiers=confirm_identifiers,
        account_id=clinician.id,
        places=places,
    )


def _request(
    session: AnySession,
    patient_id: str,
    team_id: str,
    form_version_id: int,
    expires_at: datetime,
    clinician: Account,
    group_id: str | None,
    media_ids: list[str],
    uses: list[UseRequest],
) -> ConsentRequest:
    request = ConsentRequest(
        id=new_id("rq"),
        team_id=team_id,
        patient_id=patient_id,
        form_version_id=form_version_id,
        expires_at=expires_at,
        clinician_name=clinician.display_name,
        account_id=clinician.id,
        group_id=group_id,
    )
    session.add(request)
    session.flush()
    session.add_all(
        RequestMedia(request_id=request.id, media_id=media_id, position=position)
        for position, media_id in enumerate(media_ids)
    )
    session.add_all(
        RequestUse(
            request_id=request.id,
            purpose=use.purpose,
            channels=json.dumps(sorted(set(use.channels))),
            position=position,
        )
        for position, use in enumerate(uses)
    )
    session.flush()
    return request


def group_of(session: AnySession, request: ConsentRequest) -> list[ConsentRequest]:
    """The requests made together with ``request`` for the other subjects of its media, this
    one included, oldest first ([request] alone for a request of one subject)."""
    if request.group_id is None:
        return [request]
    return list(
        session.scalars(
            select(ConsentRequest)
            .where(ConsentRequest.group_id == request.group_id)
            .order_by(ConsentRequest.created_at, ConsentRequest.id)
        )
    )


def get_request(session: AnySession, request_id: str, *, scope: Scope) -> ConsentRequest:
    """The request, if of the caller's teams. Raises NotFound."""
    request = session.get(ConsentRequest, request_id)
    if request is None or not scope.allows(request.team_id):
        raise NotFound(f"No consent request {request_id}.")
    return request


def requested_uses(session: AnySession, request_id: str) -> list[RequestUse]:
    """The uses a request asks about, in the order the clinician listed them."""
    return list(
        session.scalars(
            select(RequestUse)
            .where(RequestUse.request_id == request_id)
            .order_by(RequestUse.position)
        )
    )


def request_media(session: AnySession, request_id: str) -> list[MediaItem]:
    """The media items a request is about, in the order the clinician added them."""
    return list(
        session.scalars(
            select(MediaItem)
            .join(RequestMedia, RequestMedia.media_id == MediaItem.id)
            .where(RequestMedia.request_id == request_id)
            .order_by(RequestMedia.position)
        )
    )


def request_form(
    session: AnySession, request: ConsentRequest
) -> tuple[FormVersion, dict[str, Any]]:
    """The form version a request asks with, and its definition."""
    form = session.get_one(FormVersion, request.form_version_id)
    return form, json.loads(form.definition)


def form_in_language(session: AnySession, form: FormVersion, language: str) -> FormVersion | None:
    """The same form and version in another language, if the catalogue has it."""
    return session.scalar(
        select(FormVersion).where(
            FormVersion.form_id == form.form_id,
            FormVersion.version == form.version,
            FormVersion.language == language,
        )
    )
