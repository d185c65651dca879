"""The administrator's pages (blueprint "admin", under /admin/): API keys, integrations,
accounts and team memberships. They call the same service functions as the `flask` commands
(consent.cli.keys, consent.cli.teams). Administrators only: a signed-in clinician gets 403,
anyone else the log-in page; auditors read the admin journal too. Teams are hospital-wide
here: an administrator manages every team's keys and members.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

blp = Blueprint("admin", __name__, url_prefix="/admin")

F = TypeVar("F", bound=Callable[..., Any])


def admin_required(view: F) -> F:
    """Signed in (else to the log-in page) with the role admin (else 403)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    checked: F = login_required(guarded)
    return checked


def reader_required(view: F) -> F:
    """Signed in with the role admin or auditor (else 403): for what auditors may read."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if current_user.role not in ("admin", "auditor"):
            abort(403)
        return view(*args, **kwargs)

    checked: F = login_required(guarded)
    return checked


@blp.get("/")
@admin_required
def index() -> Any:
    return render_template("admin/index.html")


def init_app() -> Blueprint:
    """The blueprint with every section's routes added."""
    from consent.pages.admin import invitations, journal, keys, people  # noqa: F401  (they add their routes)

    return blp
