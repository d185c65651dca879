"""The tablet path: single-use signing links, the patient's submission, the clinician's
confirmation. Each function is one transaction.

A link opens one request on one browser (the first that opens it), expires after
CONSENT_SIGNING_LINK_MINUTES, and is spent by the patient's submission: it can never carry a
second decision. The receipt is final only when the clinician who informed the patient
confirms, from their account.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from consent import clock
from consent.accounts.models import Account
from consent.consents.models import (
    Consent,
    ConsentRequest,
    PendingDecision,
    SigningLink,
)
from consent.consents.service import Signer, get_request, record_decision, requested_uses
from consent.consents.signature import DrawnSignature
from consent.crypto.vault import open_sealed, seal
from consent.db import db
from consent.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from consent.patients.service import data_key


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    link: SigningLink
    url: str


def issue_link(request_id: str) -> IssuedLink:
    """A new signing link for an open request; earlier unused links stop working. Commits."""
    request = get_request(request_id)
    if request.status != "open":
        raise Conflict("This request already has a decision.")
    now = clock.now()
    db.session.execute(
        update(SigningLink)
        .where(
            SigningLink.request_id == request_id,
            SigningLink.used_at.is_(None),
            SigningLink.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(32)
    minutes = current_app.config["CONSENT_SIGNING_LINK_MINUTES"]
    link = SigningLink(
        request_id=request_id, token_hash=_hash(token), expires_at=now + timedelta(minutes=minutes)
    )
    db.session.add(link)
    db.session.commit()
    base = current_app.config["CONSENT_PUBLIC_URL"].rstrip("/")
    return IssuedLink(link, f"{base}/tablet/s/{token}")


class LinkProblem(Gone):
    """A link that cannot be used; ``reason`` picks the page the patient sees."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"This signing link cannot be used ({reason}).")
        self.reason = reason


def _usable(link: SigningLink | None, browser: str) -> SigningLink:
    if link is None:
        raise LinkProblem("unknown")
    if link.used_at is not None:
        raise LinkProblem("used")
    if link.revoked_at is not None:
        # Links are revoked by a newer link, or by a decision recorded on paper.
        decided = db.session.get_one(ConsentRequest, link.request_id).status != "open"
        raise LinkProblem("decided" if decided else "replaced")
    if link.expires_at <= clock.now():
        raise LinkProblem("expired")
    if link.opened_by is not None and link.opened_by != browser:
        raise LinkProblem("elsewhere")
    return link


def open_link(token: str, browser: str) -> SigningLink:
    """Open a link on this browser. Raises LinkProblem. Commits."""
    link = db.session.scalar(select(SigningLink).where(SigningLink.token_hash == _hash(token)))
    link = _usable(link, browser)
    if link.opened_by is None:
        link.opened_by = browser
        db.session.commit()
    return link


def current_link(link_id: int, browser: str) -> SigningLink:
    """The link this browser is signing with. Raises LinkProblem."""
    return _usable(db.session.get(SigningLink, link_id), browser)


def submit(
    *,
    link: SigningLink,
    choices: dict[str, bool],
    signer: Signer,
    drawn: DrawnSignature,
) -> PendingDecision:
    """Keep the patient's choices and signature for the clinician to confirm; spend the link.

    Raises InvalidInput (a choice missing, a representative without name or relationship),
    Conflict (a decision is already waiting). Commits.
    """
    request = get_request(link.request_id)
    asked = _asked(request)
    missing = [purpose for purpose in asked if purpose not in choices]
    if missing or set(choices) - set(asked):
        raise InvalidInput("Answer yes or no for every use.", errors={"choices": missing})
    if signer.role == "legal_representative" and not (signer.name and signer.relationship):
        raise InvalidInput(
            "A legal representative gives their name and relationship.",
            errors={"signer": ["name", "relationship"]},
        )
    if db.session.get(PendingDecision, request.id) is not None:
        raise Conflict("A decision is already waiting for the clinician.")
    key = data_key(request.patient_id)
    pending = PendingDecision(
        request_id=request.id,
        link_id=link.id,
        choices=json.dumps(choices, sort_keys=True),
        signer_role=signer.role,
        relationship=signer.relationship,
        signer_sealed=seal(key, signer.name.encode()) if signer.name else None,
        signature_strokes_sealed=seal(key, drawn.strokes_json),
        signature_svg_sealed=seal(key, drawn.svg),
        strokes_sha256=drawn.strokes_sha256,
        svg_sha256=drawn.svg_sha256,
    )
    db.session.add(pending)
    link.used_at = clock.now()
    db.session.commit()
    return pending


def _asked(request: ConsentRequest) -> list[str]:
    return [use.purpose for use in requested_uses(request.id)]


def confirm(*, request_id: str, account: Account) -> Consent:
    """The informing clinician confirms the patient's submission: the receipt is signed.

    Raises NotFound (nothing waiting), Forbidden (another clinician's patient). Commits.
    """
    request = get_request(request_id)
    pending = db.session.get(PendingDecision, request_id)
    if pending is None:
        raise NotFound("No decision is waiting for confirmation on this request.")
    if request.account_id is not None and request.account_id != account.id:
        raise Forbidden("Only the clinician who informed the patient can confirm.")
    key = data_key(request.patient_id)
    strokes = open_sealed(key, pending.signature_strokes_sealed)
    svg = open_sealed(key, pending.signature_svg_sealed)
    drawn = DrawnSignature(strokes, svg, pending.strokes_sha256, pending.svg_sha256)
    name = open_sealed(key, pending.signer_sealed).decode() if pending.signer_sealed else None
    signer = Signer(pending.signer_role, name, pending.relationship)
    choices = json.loads(pending.choices)
    db.session.delete(pending)
    db.session.flush()
    return record_decision(
        request_id=request_id,
        signer=signer,
        choices=choices,
        method="tablet",
        drawn=drawn,
        confirmed_by=account.display_name,
    )


def pending_for(request_id: str) -> PendingDecision | None:
    return db.session.get(PendingDecision, request_id)


def consent_for_request(request_id: str) -> Consent | None:
    return db.session.scalar(select(Consent).where(Consent.request_id == request_id))
