"""What a consent allows today, use by use, and what happened to a request: for the clinician's
request page, in plain words, from the signed receipts and the rows beside them.

A use granted in the receipt may since have been withdrawn (by the patient with their code, by
staff, by the patient's erasure) or have expired: the page must say so, or a clinician posting
by hand would believe a withdrawn use is still allowed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from consent import clock
from consent.accounts.models import Account
from consent.consents.models import (
    Consent,
    ConsentRequest,
    ConsentUse,
    PendingDecision,
    RequestMedia,
    SigningLink,
    Withdrawal,
)
from consent.consents.requests import requested_uses
from consent.consents.selfservice import METHOD as SELF_SERVICE
from consent.consents.uses import Choice
from consent.crypto.keyring import Keyring
from consent.db import AnySession
from consent.media.models import MediaItem, MediaRendition
from consent.patients.models import PatientErasure
from consent.verify.service import decide
from consent.webhooks.models import WebhookDelivery, WebhookEndpoint


@dataclass(frozen=True)
class UseToday:
    purpose: str
    channels: list[str]
    # "allowed", "refused", "withdrawn" or "expired".
    state: str
    since: datetime | None = None
    # Who withdrew it: "patient" (with their code), "erasure", or a staff member's name.
    by: str | None = None
    withdrawal_id: str | None = None
    # Granted "only with my face hidden" (issue 19): only the face-masked copy may be shown.
    face_hidden: bool = False


@dataclass(frozen=True)
class Event:
    at: datetime
    # request, link, signed, decided, withdrawn, expired, erased
    kind: str
    detail: str = ""


def _withdrawer(session: AnySession, withdrawal: Withdrawal, erased: bool) -> str:
    body = json.loads(withdrawal.receipt)
    if body.get("method") == SELF_SERVICE:
        return "patient"
    if erased:
        return "erasure"
    account_id = (body.get("recorded_by") or {}).get("account")
    account = session.get(Account, account_id) if isinstance(account_id, int) else None
    return account.display_name if account else "staff"


def uses_today(
    session: AnySession, consent: Consent, *, erased: bool = False, now: datetime | None = None
) -> list[UseToday]:
    """Each use of the consent in the order the patient answered it, with its state today."""
    now = now or clock.now()
    receipt = json.loads(consent.receipt)
    rows = {
        use.purpose: use
        for use in session.scalars(select(ConsentUse).where(ConsentUse.consent_id == consent.id))
    }
    withdrawals = {
        w.id: w
        for w in session.scalars(select(Withdrawal).where(Withdrawal.consent_id == consent.id))
    }
    result = []
    for use in receipt["uses"]:
        purpose, channels = use["purpose"], use.get("channels", [])
        row = rows.get(purpose)
        if not use["granted"]:
            result.append(UseToday(purpose, channels, "refused"))
        elif row is not None and row.withdrawal_id in withdrawals:
            withdrawal = withdrawals[row.withdrawal_id]
            by = _withdrawer(session, withdrawal, erased)
            result.append(
                UseToday(purpose, channels, "withdrawn", withdrawal.issued_at, by, withdrawal.id)
            )
        elif consent.expires_at <= now:
            result.append(UseToday(purpose, channels, "expired", consent.expires_at))
        else:
            result.append(
                UseToday(purpose, channels, "allowed", face_hidden=use.get("face") == "hidden")
            )
    return result


def timeline(session: AnySession, request: ConsentRequest, consent: Consent | None) -> list[Event]:
    """What happened to the request, oldest first."""
    events = [Event(request.created_at, "request", request.clinician_name)]
    for link in session.scalars(
        select(SigningLink).where(SigningLink.request_id == request.id).order_by(SigningLink.id)
    ):
        events.append(Event(link.created_at, "link"))
        if link.opened_at is not None:
            events.append(Event(link.opened_at, "opened"))
    pending = session.get(PendingDecision, request.id)
    if pending is not None:
        events.append(Event(pending.submitted_at, "signed"))
    if consent is not None:
        events.append(Event(consent.issued_at, "decided", consent.method))
        for withdrawal in session.scalars(
            select(Withdrawal).where(Withdrawal.consent_id == consent.id)
        ):
            events.append(Event(withdrawal.issued_at, "withdrawn", withdrawal.id))
        if consent.expires_at <= clock.now():
            events.append(Event(consent.expires_at, "expired"))
    events.extend(_copies_and_deliveries(session, request, consent))
    erasure = session.scalar(
        select(PatientErasure).where(PatientErasure.patient_id == request.patient_id)
    )
    if erasure is not None:
        events.append(Event(erasure.issued_at, "erased"))
    return sorted(events, key=lambda event: event.at)


# The newest webhook deliveries a request page lists (a consent's events are few).
MAX_DELIVERIES = 50


def _copies_and_deliveries(
    session: AnySession, request: ConsentRequest, consent: Consent | None
) -> list[Event]:
    """Copies (renditions) made of the request's media, and webhook deliveries of the
    consent's events to the team's endpoints (delivered, failed or still to be sent)."""
    events = [
        Event(rendition.created_at, "copy", rendition.kind)
        for rendition in session.scalars(
            select(MediaRendition)
            .join(RequestMedia, RequestMedia.media_id == MediaRendition.media_id)
            .where(RequestMedia.request_id == request.id)
        )
    ]
    if consent is None:
        return events
    endpoints = select(WebhookEndpoint.id).where(WebhookEndpoint.team_id == consent.team_id)
    for delivery in session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id.in_(endpoints),
            WebhookDelivery.payload.contains(f'"{consent.id}"'),
        )
        .order_by(WebhookDelivery.created_at.desc())
        .limit(MAX_DELIVERIES)
    ):
        at = delivery.finished_at or delivery.created_at
        events.append(Event(at, f"webhook_{delivery.state}", delivery.event_type))
    return events


def ordered_choices(
    session: AnySession, request_id: str, choices: dict[str, Choice]
) -> list[tuple[str, Choice]]:
    """A pending decision's choices in the order the patient answered them (the request's);
    each True, False or FACE_HIDDEN."""
    order = [use.purpose for use in requested_uses(session, request_id)]
    return [(purpose, choices[purpose]) for purpose in order if purpose in choices]


@dataclass(frozen=True)
class VerifyToday:
    """What verify answers today for one media item, use by use (purpose, decision)."""

    media: MediaItem
    answers: list[tuple[str, str]]


def verify_today(
    session: AnySession, keyring: Keyring, media: list[MediaItem], purposes: list[str]
) -> list[VerifyToday]:
    """Verify's own decision (the same function as the API, no HTTP call) for each media item
    and each use the request asked, on any channel: what a publisher checking it would hear."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    now = clock.now()
    return [
        VerifyToday(
            item,
            [
                (
                    purpose,
                    str(
                        decide(
                            sha256=item.sha256,
                            purpose=purpose,
                            channel=None,
                            engine=engine,
                            keyring=keyring,
                            now=now,
                        ).answer["decision"]
                    ),
                )
                for purpose in purposes
            ],
        )
        for item in media
    ]
