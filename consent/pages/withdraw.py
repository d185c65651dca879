"""The patient's withdrawal pages: the code from the receipt, no account, two steps.

code -> consent (see what was agreed; withdraw everything, or tick some uses) -> confirm (what
this means, in plain words) -> done (what was withdrawn, the withdrawal receipt as PDF).
"Stop" at any step ends it and changes nothing.

The code reaches this page in the address's fragment (``/withdraw#code=...``), which browsers
never send: a script fills the field from it, the person presses Continue, and the code travels
in the body of a CSRF-protected POST, never in a URL. What the code opened is remembered in the
signed session cookie for CONSENT_WITHDRAWAL_SESSION_MINUTES, bound to this browser.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, session, url_for

from consent.accounts.scope import EVERY_TEAM  # the code is the patient's credential
from consent.consents import selfservice
from consent.consents.withdrawals import get_withdrawal
from consent.db import db
from consent.errors import Conflict
from consent.media.fingerprints import IMAGE_TYPES
from consent.records.envelope import verified_receipt
from consent.web.context import runtime
from consent.web.extensions import limiter
from consent.web.i18n import LANGUAGES
from consent.web.media import media_response, photo_response
from consent.web.pdf import pdf_response
from consent.web.ratelimits import limit_value, refused
from consent.web.textinput import local_address
from consent.workflows.screen_rendition import screen_rendition
from consent.workflows.withdraw import withdraw_with_code
from consent.workflows.withdrawal_documents import withdrawal_receipt_job

blp = Blueprint("withdraw", __name__, url_prefix="/withdraw")

# Session keys: what the code opened (consent, deadline, chosen uses), and what was withdrawn.
OPENED = "withdraw"
DONE = "withdrawn"


def _deadline() -> int:
    return int(time.time()) + 60 * runtime().settings.withdrawal_session_minutes


def _opened() -> dict[str, Any] | None:
    state = session.get(OPENED)
    if not isinstance(state, dict) or state.get("until", 0) < time.time():
        session.pop(OPENED, None)
        return None
    return state


def _render_code_page(*, not_found: bool = False) -> tuple[str, int]:
    return render_template("withdraw/code.html", not_found=not_found, step=1), (
        422 if not_found else 200
    )


@blp.post("/language")
def choose_language() -> Any:
    if request.form.get("lang") in LANGUAGES:
        session["lang"] = request.form["lang"]
    target = local_address(request.form.get("next", ""), prefix="/withdraw")
    return redirect(target or url_for("withdraw.enter_code"))


@blp.get("")
def enter_code() -> Any:
    """The code field (filled from the address's fragment by withdraw-code.js)."""
    return _render_code_page()


@blp.post("")
# Wrong codes per IP address; past the limit even a right code waits for the window to pass.
@limiter.limit(limit_value("withdrawal_code"), deduct_when=refused)
def submit_code() -> Any:
    """A code that opens a consent leads on; anything else gets the same neutral answer."""
    code = request.form.get("code", "")
    consent = selfservice.consent_for_code(db.session, runtime().keyring, code)
    if consent is None:
        return _render_code_page(not_found=True)
    session.pop(DONE, None)
    session[OPENED] = {"consent": consent.id, "until": _deadline()}
    return redirect(url_for("withdraw.consent_page"))


@blp.route("/consent", methods=["GET", "POST"])
def consent_page() -> Any:
    """What the patient agreed to; the choice: withdraw everything, or only the ticked uses."""
    state = _opened()
    if state is None:
        return redirect(url_for("withdraw.enter_code"))
    view = selfservice.consent_view(db.session, runtime().keyring, state["consent"])
    active = [use["purpose"] for use in view.active]
    missing = False
    ticked: list[str] = list(state.get("purposes") or [])
    if request.method == "POST":
        if request.form.get("scope") == "all":
            ticked = active
        else:
            ticked = [purpose for purpose in request.form.getlist("purpose") if purpose in active]
        missing = not ticked
        if not missing:
            session[OPENED] = {**state, "purposes": ticked}
            return redirect(url_for("withdraw.confirm"))
    return render_template(
        "withdraw/consent.html", view=view, ticked=ticked, missing=missing, step=2
    ), (422 if missing else 200)


@blp.get("/media/<media_id>")
def media_file(media_id: str) -> Response:
    """A photo or video of the consent this browser opened with its code, decrypted."""
    state = _opened()
    if state is None:
        abort(404)
    view = selfservice.consent_view(db.session, runtime().keyring, state["consent"])
    item = next((m for m in view.media if m.id == media_id), None)
    if item is None or item.bytes_erased_at is not None:
        abort(404)
    if item.media_type in IMAGE_TYPES:
        # On the patient's own phone, often on mobile data: the screen copy, never cached.
        copy = screen_rendition(db.session, runtime(), item)
        return photo_response(copy.data, copy.media_type)
    return media_response(item)


@blp.route("/confirm", methods=["GET", "POST"])
def confirm() -> Any:
    """What withdrawing means, before it is done; then the withdrawal, signed and logged."""
    state = _opened()
    if state is None:
        return redirect(url_for("withdraw.enter_code"))
    chosen = list(state.get("purposes") or [])
    if not chosen:
        return redirect(url_for("withdraw.consent_page"))
    view = selfservice.consent_view(db.session, runtime().keyring, state["consent"])
    active = [use["purpose"] for use in view.active]
    if request.method == "POST":
        everything = set(chosen) >= set(active)
        try:
            withdrawal = withdraw_with_code(
                db.session,
                runtime().keyring,
                consent_id=view.consent_id,
                purposes=None if everything else chosen,
            )
            db.session.commit()
        except Conflict:
            db.session.rollback()
            # Withdrawn meanwhile (another tab, the care team): nothing left to do.
            session.pop(OPENED, None)
            return redirect(url_for("withdraw.enter_code"))
        session.pop(OPENED, None)
        session[DONE] = {"withdrawal": withdrawal.id, "until": _deadline()}
        return redirect(url_for("withdraw.done"))
    remaining = [purpose for purpose in active if purpose not in chosen]
    return render_template(
        "withdraw/confirm.html",
        view=view,
        chosen=view.labels(chosen),
        remaining=view.labels(remaining),
        step=3,
    )


@blp.post("/stop")
def stop() -> str:
    """Leave without withdrawing anything."""
    session.pop(OPENED, None)
    return render_template("withdraw/stopped.html")


def _done_withdrawal() -> str:
    state = session.get(DONE)
    if not isinstance(state, dict) or state.get("until", 0) < time.time():
        abort(404)
    return str(state["withdrawal"])


@blp.get("/done")
def done() -> str:
    rt = runtime()
    withdrawal = get_withdrawal(db.session, _done_withdrawal(), scope=EVERY_TEAM)
    view = selfservice.consent_view(db.session, rt.keyring, withdrawal.consent_id)
    body = verified_receipt(withdrawal, rt.keyring)
    verify_url = rt.links.consent_page(view.consent_id)
    return render_template(
        "withdraw/done.html",
        view=view,
        withdrawal=withdrawal,
        withdrawn_now=view.labels(body["purposes"]),
        remaining=view.labels([use["purpose"] for use in view.active]),
        verify_url=verify_url,
        step=4,
    )


@blp.get("/withdrawal-receipt.pdf")
def receipt_pdf() -> Response:
    """The withdrawal receipt as a PDF to keep, for the browser that withdrew."""
    job = withdrawal_receipt_job(db.session, runtime(), _done_withdrawal(), scope=EVERY_TEAM)
    return pdf_response(job, download=True)
