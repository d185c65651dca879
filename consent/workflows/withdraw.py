"""Withdrawing uses of a consent: through the API, or by the patient with their code. The
withdrawal receipt is logged and publishers are told (outbox) in the same transaction; verify
answers ``withdrawn`` from the next call, on every worker. The caller commits."""

from __future__ import annotations

import json

from consent.accounts.scope import EVERY_TEAM, Scope
from consent.consents.decisions import Signer, get_consent
from consent.consents.models import Consent, Withdrawal
from consent.consents.selfservice import METHOD as SELF_SERVICE
from consent.consents.withdrawals import withdraw_uses
from consent.crypto.keyring import Keyring
from consent.db import AnySession
from consent.errors import Conflict
from consent.notifications.service import notify_withdrawal
from consent.records.receipts import Recorder
from consent.webhooks import events

NOTHING_LEFT = "Every use of this consent is already withdrawn or was refused."


def withdraw_and_notify(
    session: AnySession,
    keyring: Keyring,
    consent: Consent,
    purposes: list[str] | None,
    *,
    recorded_by: Recorder | None,
    method: str | None = None,
    signer: Signer | None = None,
) -> Withdrawal | None:
    """``withdraw_uses``, with its consent.withdrawn event; None when nothing was left."""
    withdrawal = withdraw_uses(
        session, keyring, consent, purposes, recorded_by=recorded_by, method=method, signer=signer
    )
    if withdrawal is not None:
        events.consent_withdrawn(
            session,
            team_id=consent.team_id,
            consent_id=consent.id,
            withdrawal_id=withdrawal.id,
            log_index=withdrawal.log_index,
            purposes=json.loads(withdrawal.receipt)["purposes"],
            media=events.media_sha256(consent.receipt),
            texts=events.text_sha256(consent.receipt),
        )
        # The informing clinician is told too, by e-mail, from the same transaction.
        notify_withdrawal(session, consent)
    return withdrawal


def withdraw(
    session: AnySession,
    keyring: Keyring,
    *,
    consent_id: str,
    scope: Scope,
    purposes: list[str] | None,
    recorded_by: Recorder | None,
    method: str | None = None,
    signer: Signer | None = None,
) -> Withdrawal:
    """Withdraw some granted uses (all of them when ``purposes`` is None).

    Raises NotFound (no such consent in the caller's teams), InvalidInput (a purpose not
    granted in this consent) or Conflict (nothing left to withdraw).
    """
    consent = get_consent(session, consent_id, scope=scope)
    withdrawal = withdraw_and_notify(
        session, keyring, consent, purposes, recorded_by=recorded_by, method=method, signer=signer
    )
    if withdrawal is None:
        raise Conflict(NOTHING_LEFT)
    return withdrawal


def withdraw_with_code(
    session: AnySession, keyring: Keyring, *, consent_id: str, purposes: list[str] | None
) -> Withdrawal:
    """The patient's own withdrawal (all active uses when ``purposes`` is None), recorded as
    self-service by the patient. Raises as ``withdraw``."""
    # The code is the patient's credential for this consent, whatever its team.
    return withdraw(
        session,
        keyring,
        consent_id=consent_id,
        scope=EVERY_TEAM,
        purposes=purposes,
        recorded_by=None,
        method=SELF_SERVICE,
        signer=Signer("patient"),
    )
