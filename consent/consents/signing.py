"""The tablet path: single-use signing links and the patient's submission, waiting for the
clinician's confirmation (consent.workflows.decide records the consent then).

A link opens one request on one browser (the first that opens it), expires after
CONSENT_SIGNING_LINK_MINUTES, and is spent by the patient's submission: it can never carry a
second decision. A decision recorded by any path revokes the request's open links.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update

from consent import clock
from consent.accounts.scope import EVERY_TEAM, Scope
from consent.consents.decisions import Signer
from consent.consents.models import ConsentRequest, PendingDecision, SigningLink
from consent.consents.requests import get_request, requested_uses
from consent.consents.signature import DrawnSignature
from consent.consents.stage import refresh_stages
from consent.consents.uses import Choice
from consent.crypto.vault import Vault, open_sealed, seal
from consent.db import AnySession
from consent.db.types import rfc3339
from consent.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from consent.patients.service import data_key


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    """A new link; ``token`` is the secret part of its address, shown once, never stored."""

    link: SigningLink
    token: str


def revoke_open_links(session: AnySession, requests: str | Select[Any], now: datetime) -> None:
    """Every unused, unrevoked link of the request (or of each request ``requests`` selects)
    stops working."""
    which = (
        SigningLink.request_id == requests
        if isinstance(requests, str)
        else SigningLink.request_id.in_(requests)
    )
    session.execute(
        update(SigningLink)
        .where(which, SigningLink.used_at.is_(None), SigningLink.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def issue_link(session: AnySession, *, request_id: str, minutes: int, scope: Scope) -> IssuedLink:
    """A new signing link for an open request; earlier unused links stop working.

    Raises NotFound (no such request in the caller's teams), Conflict (already decided).
    """
    request = get_request(session, request_id, scope=scope)
    if request.status != "open":
        raise Conflict("This request already has a decision.")
    now = clock.now()
    revoke_open_links(session, request_id, now)
    token = secrets.token_urlsafe(32)
    link = SigningLink(
        request_id=request_id,
        token_hash=_hash(token),
        # The service's clock, as for every time a receipt states (the signing session's).
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    session.add(link)
    session.flush()
    return IssuedLink(link, token)


class LinkProblem(Gone):
    """A link that cannot be used; ``reason`` picks the page the patient sees."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"This signing link cannot be used ({reason}).")
        self.reason = reason


def _usable(session: AnySession, link: SigningLink | None, browser: str) -> SigningLink:
    if link is None:
        raise LinkProblem("unknown")
    if link.used_at is not None:
        raise LinkProblem("used")
    # Checked at every step, not only when the link opens: a decision recorded by any other
    # path (paper, an integration) ends the tablet's flow at its next page.
    if session.get_one(ConsentRequest, link.request_id).status != "open":
        raise LinkProblem("decided")
    if link.revoked_at is not None:
        raise LinkProblem("replaced")
    if link.expires_at <= clock.now():
        raise LinkProblem("expired")
    if link.opened_by is not None and link.opened_by != browser:
        raise LinkProblem("elsewhere")
    return link


def open_link(session: AnySession, token: str, browser: str) -> SigningLink:
    """Open a link on this browser (binding it to the browser). Raises LinkProblem."""
    link = session.scalar(select(SigningLink).where(SigningLink.token_hash == _hash(token)))
    link = _usable(session, link, browser)
    if link.opened_by is None:
        link.opened_by = browser
        link.opened_at = clock.now()
        session.flush()
    return link


def current_link(session: AnySession, link_id: int, browser: str) -> SigningLink:
    """The link this browser is signing with. Raises LinkProblem."""
    return _usable(session, session.get(SigningLink, link_id), browser)


def submit(
    session: AnySession,
    vault: Vault,
    *,
    link: SigningLink,
    choices: dict[str, Choice],
    signer: Signer,
    drawn: DrawnSignature,
) -> PendingDecision:
    """Keep the patient's choices and signature for the clinician to confirm; spend the link.

    Raises InvalidInput (a choice missing, a representative without name or relationship),
    Conflict (a decision is already waiting).
    """
    # The link is the patient's credential for its request, whatever the team.
    request = get_request(session, link.request_id, scope=EVERY_TEAM)
    if request.status != "open":
        raise LinkProblem("decided")
    asked = [use.purpose for use in requested_uses(session, request.id)]
    missing = [purpose for purpose in asked if purpose not in choices]
    if missing or set(choices) - set(asked):
        raise InvalidInput("Answer yes or no for every use.", errors={"choices": missing})
    if signer.role == "legal_representative" and not (signer.name and signer.relationship):
        raise InvalidInput(
            "A legal representative gives their name and relationship.",
            errors={"signer": ["name", "relationship"]},
        )
    if session.get(PendingDecision, request.id) is not None:
        raise Conflict("A decision is already waiting for the clinician.")
    key = data_key(session, vault, request.patient_id)
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
        submitted_at=clock.now(),
    )
    session.add(pending)
    link.used_at = clock.now()
    session.flush()
    refresh_stages(session, [request.id])
    return pending


@dataclass(frozen=True)
class Submission:
    """What the patient submitted on the tablet, unsealed for the receipt, with the signing
    session it was made in (the link, when it was issued, when the patient submitted)."""

    signer: Signer
    choices: dict[str, Choice]
    drawn: DrawnSignature
    session_evidence: dict[str, str | int]


def take_submission(
    session: AnySession, vault: Vault, *, request: ConsentRequest, account_id: int
) -> Submission:
    """The patient's submission, for the informing clinician to confirm; removed from waiting.

    Raises NotFound (nothing waiting), Forbidden (not the clinician who informed the patient).
    """
    pending = session.get(PendingDecision, request.id)
    if pending is None:
        raise NotFound("No decision is waiting for confirmation on this request.")
    if request.account_id != account_id:
        raise Forbidden("Only the clinician who informed the patient can confirm.")
    key = data_key(session, vault, request.patient_id)
    strokes = open_sealed(key, pending.signature_strokes_sealed)
    svg = open_sealed(key, pending.signature_svg_sealed)
    drawn = DrawnSignature(strokes, svg, pending.strokes_sha256, pending.svg_sha256)
    name = open_sealed(key, pending.signer_sealed).decode() if pending.signer_sealed else None
    signer = Signer(pending.signer_role, name, pending.relationship)
    choices = json.loads(pending.choices)
    link = session.get_one(SigningLink, pending.link_id)
    evidence: dict[str, str | int] = {
        "link": link.id,
        "issued_at": rfc3339(link.created_at),
        "submitted_at": rfc3339(pending.submitted_at),
    }
    session.delete(pending)
    session.flush()
    refresh_stages(session, [request.id])
    return Submission(signer, choices, drawn, evidence)


def pending_for(session: AnySession, request_id: str) -> PendingDecision | None:
    return session.get(PendingDecision, request_id)
