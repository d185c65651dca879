"""The page an invited person opens from their e-mail (/account/invitation/<token>): who
invited them to which team, and a form to choose their password (the policy of
consent.accounts.passwords). Single use: used, cancelled, expired or unknown links get a page
(410) that sends them to their administrator. On success they are logged in.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import login_user, logout_user
from werkzeug.security import generate_password_hash

from consent.accounts import invitations, logins
from consent.accounts.journal import record_admin_action
from consent.accounts.models import AccountInvitation
from consent.accounts.passwords import MAX_LENGTH, MIN_LENGTH, password_problems
from consent.db import db
from consent.pages.login import VERSION
from consent.web.context import settings
from consent.web.extensions import limiter
from consent.web.ratelimits import limit_value, refused

blp = Blueprint("invitation", __name__, url_prefix="/account")


def _opened(token: str) -> AccountInvitation | tuple[str, int]:
    try:
        return invitations.open_invitation(db.session, token[:100])
    except invitations.InvitationProblem as problem:
        return render_template("invitation/problem.html", reason=problem.reason), 410


def _page(invitation: AccountInvitation, *, problems: list[str] | None = None) -> Any:
    page = render_template(
        "invitation/page.html",
        invitation=invitation,
        problems=problems or [],
        sign_on=settings().sign_on,
    )
    return page, 422 if problems else 200


@blp.get("/invitation/<token>")
# Links that fail to open, per IP address, as for signing links.
@limiter.limit(limit_value("signing_link"), deduct_when=refused)
def invitation_page(token: str) -> Any:
    opened = _opened(token)
    if not isinstance(opened, AccountInvitation):
        return opened
    return _page(opened)


@blp.post("/invitation/<token>")
# As the log-in: a password form, counted per IP address.
@limiter.limit(limit_value("login"), deduct_when=refused)
def choose_password(token: str) -> Any:
    opened = _opened(token)
    if not isinstance(opened, AccountInvitation):
        return opened
    if settings().sign_on:
        # With the hospital's sign-on no password is set here.
        return _page(opened), 403
    password = request.form.get("password", "")[: MAX_LENGTH + 1]
    again = request.form.get("password_again", "")[: MAX_LENGTH + 1]
    account = opened.account
    problems = [
        _translated(problem)
        for problem in password_problems(password, email=account.email, name=account.display_name)
    ]
    if password != again:
        problems.append(_("The two passwords differ; type the same one twice."))
    if problems:
        return _page(opened, problems=problems)
    invitations.accept(db.session, opened, generate_password_hash(password))
    record_admin_action(
        db.session,
        account_id=account.id,
        action="account.invitation_accepted",
        object_id=account.id,
    )
    logins.record_success(db.session, account, (request.remote_addr or "unknown")[:45])
    db.session.commit()
    logout_user()
    session.clear()
    session.permanent = True
    login_user(account)
    session[VERSION] = account.session_version
    start = "admin.journal" if account.role == "auditor" else "clinician.dashboard"
    return redirect(url_for(start))


def _(text: str, **values: object) -> str:
    return str(gettext(text, **values))


def _translated(problem: str) -> str:
    """The password policy's plain words (consent.accounts.passwords), in the page's language."""
    if problem.startswith("Use at least"):
        return _(
            "Use at least %(num)s characters; a few words make a good password.", num=MIN_LENGTH
        )
    if problem.startswith("Use at most"):
        return _("Use at most %(num)s characters.", num=MAX_LENGTH)
    if problem.startswith("This password is too common"):
        return _("This password is too common; choose another.")
    if problem.startswith("Do not use your name"):
        return _("Do not use your name or e-mail address in the password.")
    return problem
