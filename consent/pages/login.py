"""The clinician's log-in, log-out and language: routes of the clinician blueprint
(consent.pages.clinician)."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash

from consent.accounts import logins
from consent.accounts.models import Account
from consent.db import db
from consent.pages.clinician import blp
from consent.web.context import settings
from consent.web.extensions import limiter
from consent.web.i18n import LANGUAGES
from consent.web.ratelimits import limit_value, refused

__all__ = ["blp", "load_account"]

# The session's keys of a staff log-in: the account's session version, the failed attempts to
# show once.
VERSION = "account_version"
FAILED = "failed_logins"


def load_account(account_id: str) -> Account | None:
    """The signed-in account, while its session is current: a session opened before a log-out,
    a new password or the account being disabled is over (on every worker: the version is in
    the database)."""
    account = db.session.get(Account, int(account_id)) if account_id.isdigit() else None
    if account is None or account.disabled_at is not None:
        return None
    if session.get(VERSION) != account.session_version:
        return None
    return account


def _address() -> str:
    # The client's address as the trusted proxies give it (CONSENT_TRUSTED_PROXIES).
    return (request.remote_addr or "unknown")[:45]


@blp.route("/login", methods=["GET", "POST"])
# Failed attempts per address; per (account, address) pair in consent.accounts.logins, with a
# growing delay that never locks the owner out (NIST SP 800-63B 5.2.2, throttling).
@limiter.limit(limit_value("login"), methods=["POST"], deduct_when=refused)
def login() -> Any:
    error = None
    email = ""
    config = settings()
    if request.method == "POST" and not config.local_passwords:
        # Passwords are switched off (CONSENT_LOCAL_PASSWORDS=false): the hospital's sign-on only.
        error = _(
            "Log-in with a password is switched off here: sign in with %(provider)s.",
            provider=config.oidc_provider_name,
        )
        return render_template("clinician/login.html", error=error, email=email), 403
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()[:254]
        password = request.form.get("password", "")[:200]
        account = db.session.scalar(select(Account).where(Account.email == email))
        if account is not None:
            wait = logins.retry_after(db.session, account, _address())
            if wait is not None:
                return _slowed_down(wait)
        # The same answer for an unknown e-mail, a wrong password and a disabled account.
        if (
            account
            and account.disabled_at is None
            and account.password_hash
            and check_password_hash(account.password_hash, password)
        ):
            failures = logins.record_success(db.session, account, _address())
            session.pop("link", None)
            # The log-in lasts a working day (CONSENT_SESSION_HOURS), then asks again.
            session.permanent = True
            login_user(account)
            session[VERSION] = account.session_version
            if failures.count:
                session[FAILED] = {
                    "count": failures.count,
                    "latest": [
                        {"at": failure.at.isoformat(), "address": failure.address}
                        for failure in failures.latest
                    ],
                }
            db.session.commit()
            # An auditor has one page: the admin journal; the others start on the worklist.
            start = "admin.journal" if account.role == "auditor" else "clinician.dashboard"
            return redirect(url_for(start))
        if account is not None:
            logins.record_failure(db.session, account, _address())
            db.session.commit()
        error = _("The e-mail or the password is not right.")
    return render_template("clinician/login.html", error=error, email=email), (
        401 if error else 200
    )


def _slowed_down(seconds: int) -> Any:
    from consent.web.errors import respond

    message = ngettext(
        "Too many wrong passwords from here. Please wait %(num)s second, then try again.",
        "Too many wrong passwords from here. Please wait %(num)s seconds, then try again.",
        seconds,
    )
    response = respond(429, message)
    response.headers["Retry-After"] = str(seconds)
    return response


@blp.post("/logout")
@login_required
def logout() -> Any:
    """End this session and every other of the account, on every device and worker."""
    account: Account = current_user._get_current_object()
    logins.end_sessions(db.session, account)
    db.session.commit()
    logout_user()
    session.pop(VERSION, None)
    session.pop(FAILED, None)
    return redirect(url_for("clinician.login"))


@blp.app_context_processor
def failed_logins() -> dict[str, Any]:
    """The failed attempts on the account since its last log-in, shown once after this one."""
    if request.blueprint != "clinician" or not current_user.is_authenticated:
        return {}
    return {"failed_logins": session.pop(FAILED, None)}


@blp.post("/language")
def choose_language() -> Any:
    if request.form.get("lang") in LANGUAGES:
        session["lang"] = request.form["lang"]
    target = request.form.get("next", "")
    # Back to the page it was chosen on: the clinician's pages or a public consent page.
    if target.startswith(("/clinician/", "/v/", "/account/invitation/")) and "//" not in target:
        return redirect(target)
    return redirect(url_for("clinician.dashboard"))
