"""The clinician's log-in, log-out and language: routes of the clinician blueprint
(consent.pages.clinician)."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash

from consent.accounts.models import Account
from consent.db import db
from consent.pages.clinician import blp
from consent.web.context import settings
from consent.web.extensions import limiter
from consent.web.i18n import LANGUAGES
from consent.web.ratelimits import limit_value, login_account_key, refused

__all__ = ["blp", "load_account"]


def load_account(account_id: str) -> Account | None:
    account = db.session.get(Account, int(account_id)) if account_id.isdigit() else None
    # A disabled account's open sessions end at their next request.
    return account if account is not None and account.is_active else None


@blp.route("/login", methods=["GET", "POST"])
# Failed attempts, per IP address and per account: a password guessed from many addresses
# is slowed down too (NIST SP 800-63B 5.2.2, throttling).
@limiter.limit(limit_value("login"), methods=["POST"], deduct_when=refused)
@limiter.limit(
    limit_value("login"), methods=["POST"], key_func=login_account_key, deduct_when=refused
)
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
        # The same answer for an unknown e-mail and a wrong password.
        if (
            account
            and account.password_hash
            and check_password_hash(account.password_hash, password)
            and account.is_active
        ):
            session.pop("link", None)
            # The log-in lasts a working day (CONSENT_SESSION_HOURS), then asks again.
            session.permanent = True
            login_user(account)
            return redirect(url_for("clinician.dashboard"))
        error = _("The e-mail or the password is not right.")
    return render_template("clinician/login.html", error=error, email=email), (
        401 if error else 200
    )


@blp.post("/logout")
@login_required
def logout() -> Any:
    logout_user()
    return redirect(url_for("clinician.login"))


@blp.post("/language")
def choose_language() -> Any:
    if request.form.get("lang") in LANGUAGES:
        session["lang"] = request.form["lang"]
    target = request.form.get("next", "")
    # Back to the page it was chosen on: the clinician's pages or a public consent page.
    if target.startswith(("/clinician/", "/v/")) and "//" not in target:
        return redirect(target)
    return redirect(url_for("clinician.dashboard"))
