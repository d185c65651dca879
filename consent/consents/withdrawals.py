"""Withdrawing granted uses of a consent: each withdrawal is its own signed, logged receipt."""

from __future__ import annotations

from sqlalchemy import select

from consent import clock
from consent.accounts.scope import Scope
from consent.consents.decisions import Signer
from consent.consents.models import Consent, ConsentUse, Withdrawal
from consent.consents.stage import refresh_stages
from consent.crypto.keyring import Keyring
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import InvalidInput, NotFound
from consent.records.log import sign_and_log
from consent.records.receipts import Recorder, withdrawal_receipt


def withdraw_uses(
    session: AnySession,
    keyring: Keyring,
    consent: Consent,
    purposes: list[str] | None,
    *,
    recorded_by: Recorder | None,
    method: str | None = None,
    signer: Signer | None = None,
) -> Withdrawal | None:
    """Withdraw some granted uses (all when ``purposes`` is None), signed and logged in the
    caller's transaction; None when nothing is left to withdraw.

    ``method`` and ``signer`` go into the receipt when given (the patient's own withdrawal says
    "self-service" and the patient); ``recorded_by`` names the staff or system that recorded
    it (None for the patient's own, whose code is the credential). Raises InvalidInput for a
    purpose this consent did not grant.
    """
    # Row locks on PostgreSQL: two withdrawals of the same use cannot both succeed.
    uses = session.scalars(
        select(ConsentUse).where(ConsentUse.consent_id == consent.id).with_for_update()
    ).all()
    active = {use.purpose: use for use in uses if use.granted and use.withdrawal_id is None}
    granted = {use.purpose for use in uses if use.granted}
    if purposes is None:
        chosen = list(active)
    else:
        unknown = [purpose for purpose in purposes if purpose not in granted]
        if unknown:
            raise InvalidInput(
                "Only granted uses can be withdrawn.",
                errors={"purposes": [f"Not granted in this consent: {', '.join(unknown)}."]},
            )
        chosen = [purpose for purpose in dict.fromkeys(purposes) if purpose in active]
    if not chosen:
        return None
    withdrawal_id = new_id("wd")
    issued_at = clock.now()
    body = withdrawal_receipt(
        withdrawal_id=withdrawal_id,
        issued_at=issued_at,
        team=consent.team_id,
        consent_id=consent.id,
        consent_receipt_bytes=consent.receipt,
        subject=consent.patient_id,
        purposes=sorted(chosen),
        method=method,
        # The role only: a name would put an identity into the log.
        signer={"role": signer.role} if signer is not None else None,
        recorded_by=recorded_by,
    )
    logged = sign_and_log(session, keyring, kind="withdrawal", record_id=withdrawal_id, body=body)
    withdrawal = Withdrawal(
        id=withdrawal_id, team_id=consent.team_id, consent_id=consent.id, issued_at=issued_at
    )
    withdrawal.sealed_by(logged)
    session.add(withdrawal)
    session.flush()
    for purpose in chosen:
        active[purpose].withdrawal_id = withdrawal_id
    session.flush()
    refresh_stages(session, [consent.request_id])
    return withdrawal


def get_withdrawal(session: AnySession, withdrawal_id: str, *, scope: Scope) -> Withdrawal:
    """The withdrawal, if of the caller's teams. Raises NotFound."""
    withdrawal = session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or not scope.allows(withdrawal.team_id):
        raise NotFound(f"No withdrawal {withdrawal_id}.")
    return withdrawal


def withdrawals_of(
    session: AnySession, consent_id: str, *, up_to_index: int | None = None
) -> list[Withdrawal]:
    """A consent's withdrawals in log order (those logged at or before ``up_to_index``)."""
    query = select(Withdrawal).where(Withdrawal.consent_id == consent_id)
    if up_to_index is not None:
        query = query.where(Withdrawal.log_index <= up_to_index)
    return list(session.scalars(query.order_by(Withdrawal.log_index)))
