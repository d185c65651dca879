"""The end of the tablet flow: waiting for the clinician's confirmation, then the summary with
the withdrawal code and the receipt. Routes of the tablet blueprint (consent.pages.tablet).

These pages show only the consent recorded from this browser's own submission (its signing
link is in the receipt): a decision recorded for the request by any other path is never shown
here, its code least of all.

A tablet is shared: once the consent is confirmed, the done page and the receipt stay open for
CONSENT_TABLET_DONE_MINUTES (the page says until when, and reloads itself then), and the
patient's "Finish" button ends them at once. Either way the patient's session is over: the
next person to pick the tablet up finds neither the withdrawal code nor the receipt.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import abort, redirect, render_template, session, url_for
from flask_babel import gettext as _

from consent import clock
from consent.accounts.names import account_name
from consent.accounts.scope import EVERY_TEAM
from consent.consents.decisions import consent_for_request, withdrawal_code
from consent.consents.handoff import HANDOFF_MINUTES, issue_handoff
from consent.consents.models import Consent
from consent.consents.requests import get_request, request_form
from consent.db import db
from consent.documents.qr import qr_svg
from consent.errors import ConsentError
from consent.forms.glossary import use_label
from consent.pages.tablet import blp
from consent.web.context import runtime
from consent.web.pdf import pdf_response
from consent.workflows.documents import receipt_job

__all__ = ["blp"]


@dataclass(frozen=True)
class _Outcome:
    """Where this browser's submission stands: waiting, recorded (``consent``), or ended by a
    decision recorded elsewhere (``elsewhere``)."""

    request_id: str
    consent: Consent | None = None
    elsewhere: bool = False


# The session's keys of a patient's tablet flow (consent.pages.tablet) and of its end.
PATIENT_KEYS = (
    "browser",
    "link",
    "checked",
    "choices",
    "signer",
    "submitted",
    "submitted_link",
    "done_until",
    "done_extended",
    "answers",
    "answers_link",
    "steps_total",
)
# How many times the patient may ask for more time on the done page.
MAX_EXTENSIONS = 3


class SessionEnded(Exception):
    """The patient's session on this tablet has ended (finished, or its time ran out)."""


def end_patient_session() -> None:
    """Forget everything of the patient's flow in this browser (a clinician signed in on the same
    browser stays signed in)."""
    for key in PATIENT_KEYS:
        session.pop(key, None)


def _remaining_seconds() -> int | None:
    """Seconds the done page stays open; None before the consent is confirmed."""
    until = session.get("done_until")
    if not isinstance(until, int | float):
        return None
    return int(until - clock.now().timestamp())


def _outcome() -> _Outcome:
    remaining = _remaining_seconds()
    if remaining is not None and remaining <= 0:
        end_patient_session()
        raise SessionEnded
    request_id, link_id = session.get("submitted"), session.get("submitted_link")
    if not request_id or not isinstance(link_id, int):
        abort(404)
    consent = consent_for_request(db.session, str(request_id))
    if consent is None:
        return _Outcome(str(request_id))
    receipt = json.loads(consent.receipt)
    if consent.method == "tablet" and receipt["signing_session"]["link"] == link_id:
        return _Outcome(str(request_id), consent)
    return _Outcome(str(request_id), elsewhere=True)


def _decided_elsewhere() -> tuple[str, int]:
    return render_template("tablet/link_problem.html", reason="decided"), 410


# A name that begins with a title: French says "au Dr Martin" but "à Marie Martin".
_TITLE = re.compile(r"(?i)(dr|docteur|doctor|pr|professeur|professor)\b")


@blp.get("/wait")
def wait() -> Any:
    outcome = _outcome()
    if outcome.elsewhere:
        return _decided_elsewhere()
    if outcome.consent is not None:
        return redirect(url_for("tablet.done"))
    request_row = get_request(db.session, outcome.request_id, scope=EVERY_TEAM)
    clinician = (
        account_name(db.session, request_row.account_id)
        if request_row.account_id is not None
        else request_row.clinician_name
    )
    total = int(session.get("steps_total") or 9)
    return render_template(
        "tablet/wait.html",
        request=request_row,
        clinician=clinician,
        titled=bool(clinician and _TITLE.match(clinician)),
        step=total - 1,
    )


@blp.get("/status")
def status() -> Any:
    """For the waiting page's script: has the clinician confirmed yet? (The done page says
    what happened, if it was decided otherwise.)"""
    outcome = _outcome()
    return {"confirmed": outcome.consent is not None or outcome.elsewhere}


@blp.errorhandler(SessionEnded)
def _ended(_exc: SessionEnded) -> tuple[str, int]:
    return render_template("tablet/finished.html", reason="timeout"), 410


@blp.post("/finish")
def finish() -> Any:
    """The patient is done: their session on this tablet ends now."""
    end_patient_session()
    return render_template("tablet/finished.html", reason="finished")


@blp.post("/more-time")
def more_time() -> Any:
    """Keep the done page open a while longer (WCAG 2.2.1: a time limit can be extended)."""
    _outcome()
    extended = int(session.get("done_extended", 0))
    if extended < MAX_EXTENSIONS and _remaining_seconds() is not None:
        session["done_extended"] = extended + 1
        session["done_until"] = _deadline()
    return redirect(url_for("tablet.done"))


def _deadline() -> int:
    minutes = runtime().settings.tablet_done_minutes
    return int(clock.now().timestamp()) + minutes * 60


@blp.get("/receipt.pdf")
def receipt_pdf() -> Any:
    """The receipt as a PDF to keep, for the browser that signed it, once it is confirmed."""
    consent = _outcome().consent
    if consent is None:
        abort(404)
    job = receipt_job(db.session, runtime(), consent.id, scope=EVERY_TEAM)
    # Shown in the tablet's viewer, never saved there: only when the patient asks for it.
    return pdf_response(job, download=False)


@blp.get("/done")
def done() -> Any:
    """What was agreed and refused, the QR code of the public page, the withdrawal code."""
    outcome = _outcome()
    if outcome.elsewhere:
        return _decided_elsewhere()
    consent = outcome.consent
    if consent is None:
        return redirect(url_for("tablet.wait"))
    if "done_until" not in session:
        session["done_until"] = _deadline()
    remaining = _remaining_seconds() or 0
    receipt = json.loads(consent.receipt)
    request_row = get_request(db.session, outcome.request_id, scope=EVERY_TEAM)
    form, definition = request_form(db.session, request_row)
    labels = {p: {"label": use_label(p, form.language)} for p in definition["purposes"]}
    rt = runtime()
    try:
        code = withdrawal_code(db.session, rt.vault, consent)
    except ConsentError:
        code = None
    # The patient's own copy goes to their phone, through a short-lived one-phone address
    # (issue 21); the address is the service's public one, whatever host the tablet reached.
    handoff = issue_handoff(db.session, consent.id)
    db.session.commit()
    phone_url = rt.links.phone_receipt(handoff.token)
    return render_template(
        "tablet/done.html",
        consent=consent,
        receipt=receipt,
        labels=labels,
        code=code,
        ends_in_seconds=remaining,
        ends_in_minutes=max(1, round(remaining / 60)),
        can_extend=int(session.get("done_extended", 0)) < MAX_EXTENSIONS,
        phone_qr=qr_svg(phone_url, label=_("QR code to get your receipt on your phone")),
        handoff_minutes=HANDOFF_MINUTES,
        step=int(session.get("steps_total") or 9),
    )
