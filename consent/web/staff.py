"""The signed-in staff member on the clinician's pages: who they are, which teams' records they
see, and how receipts name them.

Pages are for clinicians and administrators; an auditor's account reads the pseudonymous
records through the API and gets a refusal here, never a patient's name.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g
from flask_login import current_user, login_required

from consent.accounts.models import Account, Team
from consent.accounts.scope import Scope
from consent.accounts.teams import scope_of, teams_of
from consent.db import db
from consent.records.receipts import Recorder

F = TypeVar("F", bound=Callable[..., Any])

PAGE_ROLES = ("clinician", "admin")


def staff_required(view: F) -> F:
    """Signed in (else to the log-in page) as a clinician or an administrator (else 403)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if current_user.role not in PAGE_ROLES:
            abort(403)
        return view(*args, **kwargs)

    checked: F = login_required(guarded)
    return checked


def staff() -> Account:
    account: Account = current_user._get_current_object()
    return account


def staff_scope() -> Scope:
    """The records of the signed-in person's teams, read once per request."""
    if "staff_scope" not in g:
        g.staff_scope = scope_of(db.session, staff())
    scope: Scope = g.staff_scope
    return scope


def staff_teams() -> list[Team]:
    """The signed-in person's teams, by name."""
    return teams_of(db.session, staff().id)


def staff_recorder(team_id: str) -> Recorder:
    """How a receipt recorded on these pages names its author: the account and the team."""
    return {"team": team_id, "account": staff().id}
