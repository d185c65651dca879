"""Hospital sign-on: OpenID Connect's authorization code flow with PKCE (RFC 7636, S256),
state and nonce, on the clinician blueprint (consent.pages.clinician).

``/clinician/login/oidc`` keeps a fresh state, nonce and PKCE verifier in this browser's
signed session cookie and sends the browser to the provider; ``/clinician/login/oidc/callback``
takes them back out (once: a replayed callback finds nothing), checks the state, exchanges the
code with the verifier, checks the ID token (consent.accounts.id_tokens), and signs the person
in with the account, role and teams their groups map to (consent.accounts.sign_on).
"""

from __future__ import annotations

import hmac
import logging
import time
import urllib.parse
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user

from consent import clock
from consent.accounts.id_tokens import validate_id_token
from consent.accounts.models import Account
from consent.accounts.sign_on import parse_group_map, sign_on
from consent.db import db
from consent.errors import SignOnRefused
from consent.pages.clinician import blp
from consent.pages.sign_on_provider import discover, exchange_code, published_keys
from consent.web.context import runtime, settings

__all__ = ["blp"]

log = logging.getLogger(__name__)

# A sign-in started more than this long ago is not finished: start again.
PENDING_SECONDS = 600
_PENDING = "oidc_pending"
CALLBACK = "clinician.oidc_callback"


@blp.get("/login/oidc")
def oidc_login() -> Any:
    """Send the browser to the hospital's provider, with a new state, nonce and PKCE challenge."""
    config = settings()
    if not config.sign_on:
        abort(404)
    try:
        endpoints = discover(str(config.oidc_issuer))
    except SignOnRefused as exc:
        return _refused(exc.message, status=502)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    session[_PENDING] = {"state": state, "nonce": nonce, "verifier": verifier, "at": time.time()}
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": config.oidc_client_id,
            "redirect_uri": runtime().links.url(CALLBACK),
            "scope": config.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return redirect(f"{endpoints.authorization_endpoint}?{query}")


@blp.get("/login/oidc/callback")
def oidc_callback() -> Any:
    """Finish the sign-in the provider sent the browser back from."""
    config = settings()
    if not config.sign_on:
        abort(404)
    # Taken out at once: whatever happens next, this state, nonce and verifier are spent.
    pending = session.pop(_PENDING, None)
    try:
        account_id = _finish(pending)
    except SignOnRefused as exc:
        db.session.rollback()
        log.info("sign-on refused: %s", exc.message)
        return _refused(exc.message, unmapped="groups" in exc.errors)
    db.session.commit()
    account = db.session.get_one(Account, account_id)
    session.pop("link", None)
    session.permanent = True
    login_user(account)
    return redirect(url_for("clinician.dashboard"))


def _finish(pending: Any) -> int:
    """The id of the account the provider's answer signs in. Raises SignOnRefused."""
    if not isinstance(pending, dict) or not pending.get("state"):
        raise SignOnRefused(_("This sign-in was not started in this browser, or was already used."))
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        raise SignOnRefused(_("This sign-in took too long. Please start again."))
    error = request.args.get("error")
    if error:
        raise SignOnRefused(
            _("The hospital's sign-in did not go through (%(error)s).", error=error[:60])
        )
    state = request.args.get("state", "")
    if not hmac.compare_digest(state.encode(), str(pending["state"]).encode()):
        raise SignOnRefused(_("This sign-in answer does not belong to this browser (state)."))
    code = request.args.get("code", "")
    if not code or len(code) > 2000:
        raise SignOnRefused(_("The hospital's sign-in gave no authorization code."))
    config = settings()
    endpoints = discover(str(config.oidc_issuer))
    tokens = exchange_code(
        endpoints,
        code=code,
        redirect_uri=runtime().links.url(CALLBACK),
        code_verifier=str(pending["verifier"]),
        client_id=str(config.oidc_client_id),
        client_secret=config.oidc_client_secret,
    )
    identity = validate_id_token(
        id_token=tokens["id_token"],
        jwks=published_keys(endpoints),
        issuer=endpoints.issuer,
        client_id=str(config.oidc_client_id),
        nonce=str(pending["nonce"]),
        groups_claim=config.oidc_groups_claim,
        now=int(clock.now().timestamp()),
    )
    account = sign_on(db.session, identity, parse_group_map(str(config.oidc_group_map)))
    return account.id


def _refused(message: str, *, status: int = 403, unmapped: bool = False) -> Any:
    page = render_template("clinician/sign_on_refused.html", message=message, unmapped=unmapped)
    return page, status
