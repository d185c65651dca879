"""Names of the people and systems a receipt points at, resolved when shown.

Receipts since version 2 name staff and systems by identifiers the service controls (an
account number, an integration id); the name shown is the account's display name today.
Version 1 receipts carried the name as typed, and keep showing it.
"""

from __future__ import annotations

from typing import Any

from consent.accounts.models import Account, Integration
from consent.db import AnySession


def account_name(session: AnySession, account_id: int) -> str:
    account = session.get(Account, account_id)
    return account.display_name if account is not None else f"account {account_id}"


def integration_name(session: AnySession, integration_id: str) -> str:
    integration = session.get(Integration, integration_id)
    return integration.name if integration is not None else integration_id


def informing_clinician(session: AnySession, receipt: dict[str, Any]) -> str:
    """The clinician who informed the patient, as a consent receipt names them."""
    clinician = receipt["informed_by"]["clinician"]
    if isinstance(clinician, dict):
        return account_name(session, int(clinician["account"]))
    return str(clinician)


def recorder_name(session: AnySession, recorded_by: dict[str, Any] | None) -> str | None:
    """Who recorded a receipt: the person (and, for a decision entered for them, the person
    who entered it), the system, or None when the receipt does not say (version 1)."""
    if not recorded_by:
        return None
    if "integration" in recorded_by:
        name = integration_name(session, str(recorded_by["integration"]))
    elif "account" in recorded_by:
        name = account_name(session, int(recorded_by["account"]))
    else:
        name = str(recorded_by.get("system", "the service"))
    entered = recorded_by.get("entered_by")
    if entered is not None and entered != recorded_by.get("account"):
        return f"{account_name(session, int(entered))} ({name})"
    return name
