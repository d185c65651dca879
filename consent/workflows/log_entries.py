"""Log entries as callers read them: an entry belongs to the team of the record it logs.

The log itself is one tree for the whole service (its checkpoint and proofs are public to every
key); an entry's content, which links a pseudonymous patient to their media, is read by the
record's own team or by an auditor.
"""

from __future__ import annotations

from sqlalchemy import select

from consent.accounts.scope import Scope
from consent.consents.models import Consent, Withdrawal
from consent.db import AnySession
from consent.errors import NotFound
from consent.ledger import store
from consent.ledger.models import LogLeaf
from consent.media.models import MediaItem, MediaRendition
from consent.patients.models import Patient, PatientErasure


def record_team(session: AnySession, kind: str, record_id: str) -> str | None:
    """The team that owns a logged record; None for a kind the log does not hold."""
    if kind == "consent":
        query = select(Consent.team_id).where(Consent.id == record_id)
    elif kind == "withdrawal":
        query = select(Withdrawal.team_id).where(Withdrawal.id == record_id)
    elif kind == "erasure":
        query = (
            select(Patient.team_id)
            .join(PatientErasure, PatientErasure.patient_id == Patient.id)
            .where(PatientErasure.id == record_id)
        )
    elif kind == "rendition":
        query = (
            select(MediaItem.team_id)
            .join(MediaRendition, MediaRendition.media_id == MediaItem.id)
            .where(MediaRendition.id == record_id)
        )
    else:
        return None
    team: str | None = session.scalar(query)
    return team


def readable_entry(session: AnySession, index: int, *, scope: Scope) -> LogLeaf:
    """Entry ``index``, when its record is of the caller's teams. Raises NotFound."""
    leaf = store.entry(session, index)
    if scope.teams is not None:
        team = record_team(session, leaf.kind, leaf.record_id)
        if team is None or not scope.allows(team):
            raise NotFound(f"No log entry {index}.")
    return leaf
