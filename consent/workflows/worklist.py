"""The clinician's worklist: every request of the caller's teams with its state today, filtered
and paged in the database, so that a page costs the same whatever the number of patients.

A request's state today comes from its stage (what the records say: a decision waiting for
the clinician, the consent, its withdrawn uses, the patient's erasure; stored on the request by
each event, consents/stage.py) and its end date: never from the status column, which says
"decided" long after a patient withdrew.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from consent import clock
from consent.accounts.scope import Scope
from consent.consents.models import (
    Consent,
    ConsentRequest,
    RequestUse,
    Withdrawal,
)
from consent.crypto.vault import Vault, open_sealed
from consent.db import AnySession
from consent.forms.models import FormVersion
from consent.patients.models import Patient, PatientKey
from consent.patients.service import identity

# In the order the worklist shows them: what needs the clinician first.
STATES = (
    "waiting_confirmation",
    "waiting_patient",
    "withdrawn",
    "partly_withdrawn",
    "expiring",
    "decided",
    "expired",
    "erased",
)
EXPIRING_DAYS = 30
PAGE_SIZE = 25
MAX_PAGE = 10_000
# A name is sealed per patient: a name search opens at most this many identities, the newest
# first, and says so when there were more (a record number is found by its keyed hash).
NAME_SEARCH_LIMIT = 2000


# Stages the date does not change (the others become expired or expiring as days pass).
_DATELESS = ("erased", "waiting_confirmation", "waiting_patient", "withdrawn")


def state_of(now: datetime) -> ColumnElement[str]:
    """The state today of ConsentRequest, from its stored stage and end date (one table; the
    consent's end date is the request's, copied when decided)."""
    stage, ends = ConsentRequest.stage, ConsentRequest.expires_at
    return case(
        (stage.in_(_DATELESS), stage),
        (ends <= now, literal("expired")),
        (stage == "partly_withdrawn", stage),
        (ends <= now + timedelta(days=EXPIRING_DAYS), literal("expiring")),
        else_=literal("decided"),
    )


def in_state(name: str, now: datetime) -> ColumnElement[bool]:
    """``state_of(now) == name`` written so that the (team, stage, end date) index serves it."""
    stage, ends = ConsentRequest.stage, ConsentRequest.expires_at
    soon = now + timedelta(days=EXPIRING_DAYS)
    if name in _DATELESS:
        return stage == name
    if name == "expired":
        return and_(stage.in_(("decided", "partly_withdrawn")), ends <= now)
    if name == "partly_withdrawn":
        return and_(stage == name, ends > now)
    if name == "expiring":
        return and_(stage == "decided", ends > now, ends <= soon)
    return and_(stage == "decided", ends > soon)


@dataclass(frozen=True)
class Filters:
    """What the clinician asked for; every field already checked (``parse``)."""

    state: str = ""
    form: str = ""
    use: str = ""
    since: date | None = None
    until: date | None = None
    query: str = ""
    page: int = 1


@dataclass
class Row:
    request: ConsentRequest
    state: str
    form_title: str
    uses: list[str] = field(default_factory=list)
    consent: Consent | None = None
    last_withdrawal: datetime | None = None
    name: str | None = None
    record_number: str | None = None


@dataclass
class Page:
    rows: list[Row]
    total: int
    page: int
    pages: int
    counts: dict[str, int]
    # The name search stopped at NAME_SEARCH_LIMIT identities.
    search_truncated: bool = False


def _base(scope: Scope, now: datetime) -> Any:
    state = state_of(now).label("state")
    query = select(ConsentRequest, state, Consent).outerjoin(
        Consent, Consent.request_id == ConsentRequest.id
    )
    if scope.teams is not None:
        query = query.where(ConsentRequest.team_id.in_(sorted(scope.teams)))
    return query, state


def counts(session: AnySession, scope: Scope, *, now: datetime | None = None) -> dict[str, int]:
    """How many requests of the caller's teams are in each state."""
    now = now or clock.now()
    # One table, from the (team, stage, end date) index: its cost does not grow with what
    # lies beside the requests.
    state = state_of(now)
    query = select(state, func.count()).group_by(state)
    if scope.teams is not None:
        query = query.where(ConsentRequest.team_id.in_(sorted(scope.teams)))
    found = {str(name): int(n) for name, n in session.execute(query)}
    return {name: found.get(name, 0) for name in STATES}


def _matching_patients(
    session: AnySession, vault: Vault, scope: Scope, text: str
) -> tuple[list[str], bool]:
    """Patients of the caller's teams whose record number is ``text`` (keyed look-up) or whose
    name contains it; and whether the name search stopped at its limit."""
    teams = select(Patient.id).where(Patient.erased_at.is_(None))
    if scope.teams is not None:
        teams = teams.where(Patient.team_id.in_(sorted(scope.teams)))
    by_number = list(
        session.scalars(teams.where(Patient.record_lookup == vault.record_lookup(text)))
    )
    if by_number:
        return by_number, False
    candidates = list(
        session.scalars(teams.order_by(Patient.created_at.desc()).limit(NAME_SEARCH_LIMIT + 1))
    )
    truncated = len(candidates) > NAME_SEARCH_LIMIT
    wanted = text.casefold()
    found = [
        patient_id
        for patient_id in candidates[:NAME_SEARCH_LIMIT]
        if wanted in identity(session, vault, patient_id, scope=scope).get("name", "").casefold()
    ]
    return found, truncated


def worklist(
    session: AnySession,
    vault: Vault,
    scope: Scope,
    filters: Filters,
    *,
    patient_id: str | None = None,
    page_size: int = PAGE_SIZE,
    now: datetime | None = None,
) -> Page:
    """One page of the caller's requests, newest first, with the names of that page only."""
    now = now or clock.now()
    query, _state = _base(scope, now)
    all_counts = counts(session, scope, now=now) if patient_id is None else {}
    truncated = False
    if patient_id is not None:
        query = query.where(ConsentRequest.patient_id == patient_id)
    if filters.query:
        matches, truncated = _matching_patients(session, vault, scope, filters.query)
        query = query.where(ConsentRequest.patient_id.in_(matches))
    if filters.form:
        query = query.where(
            ConsentRequest.form_version_id.in_(
                select(FormVersion.id).where(FormVersion.form_id == filters.form)
            )
        )
    if filters.use:
        query = query.where(
            exists().where(
                RequestUse.request_id == ConsentRequest.id, RequestUse.purpose == filters.use
            )
        )
    if filters.since:
        query = query.where(ConsentRequest.created_at >= datetime.combine(filters.since, time()))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time())
        query = query.where(ConsentRequest.created_at < end)
    if filters.state:
        query = query.where(in_state(filters.state, now))
    # Ids first (the state is computed for every row only when filtered by it), then the
    # page's rows with their state: the rows skipped by the offset cost no state.
    ids = query.with_only_columns(ConsentRequest.id, ConsentRequest.created_at)
    narrowed = filters.query or filters.form or filters.use or filters.since or filters.until
    if patient_id is None and not narrowed:
        # The counts by state already say how many: no second pass over the requests.
        total = all_counts[filters.state] if filters.state else sum(all_counts.values())
    else:
        total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    pages = max(1, -(-total // page_size))
    number = min(filters.page, pages)
    order = (ConsentRequest.created_at.desc(), ConsentRequest.id)
    page_ids = list(
        session.scalars(
            ids.with_only_columns(ConsentRequest.id)
            .order_by(*order)
            .offset((number - 1) * page_size)
            .limit(page_size)
        )
    )
    base, _state = _base(scope, now)
    found = session.execute(base.where(ConsentRequest.id.in_(page_ids)).order_by(*order)).all()
    rows = _rows(session, vault, scope, found)
    return Page(rows, total, number, pages, all_counts, truncated)


def _rows(session: AnySession, vault: Vault, scope: Scope, found: Sequence[Any]) -> list[Row]:
    """The page's rows with their uses, last withdrawal and the patient's name: a fixed
    number of queries, and one identity opened per row."""
    request_ids = [request.id for request, _state, _consent in found]
    consent_ids = [consent.id for _request, _state, consent in found if consent is not None]
    uses: dict[str, list[str]] = {}
    for use in session.scalars(
        select(RequestUse)
        .where(RequestUse.request_id.in_(request_ids))
        .order_by(RequestUse.request_id, RequestUse.position)
    ):
        uses.setdefault(use.request_id, []).append(use.purpose)
    titles = dict(
        session.execute(
            select(FormVersion.id, FormVersion.title).where(
                FormVersion.id.in_({request.form_version_id for request, _s, _c in found})
            )
        ).all()
    )
    last_withdrawal = dict(
        session.execute(
            select(Withdrawal.consent_id, func.max(Withdrawal.issued_at))
            .where(Withdrawal.consent_id.in_(consent_ids))
            .group_by(Withdrawal.consent_id)
        ).all()
    )
    # The page's identities in one query: each patient's sealed identity and wrapped key.
    sealed = {
        patient_id: (identity_sealed, wrapped)
        for patient_id, identity_sealed, wrapped in session.execute(
            select(Patient.id, Patient.identity_sealed, PatientKey.wrapped_key)
            .join(PatientKey, PatientKey.patient_id == Patient.id)
            .where(
                Patient.id.in_({request.patient_id for request, _s, _c in found}),
                Patient.erased_at.is_(None),
            )
        )
    }
    rows = []
    for request, state, consent in found:
        row = Row(
            request=request,
            state=state,
            form_title=titles.get(request.form_version_id, ""),
            uses=uses.get(request.id, []),
            consent=consent,
            last_withdrawal=last_withdrawal.get(consent.id) if consent else None,
        )
        if request.patient_id in sealed and scope.allows(request.team_id):
            box, wrapped = sealed[request.patient_id]
            if box is not None:
                who = json.loads(open_sealed(vault.unwrap(wrapped), box))
                row.name, row.record_number = who.get("name"), who.get("record_number")
        rows.append(row)
    return rows


def request_state(session: AnySession, scope: Scope, request_id: str) -> str:
    """The state of one request (as the worklist shows it)."""
    query, _state = _base(scope, clock.now())
    row = session.execute(query.where(ConsentRequest.id == request_id)).first()
    return str(row.state) if row else "waiting_patient"
