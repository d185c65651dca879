"""Decide whether a file may be published for a purpose, and sign the answer.

The decision is taken from the signed receipts themselves, each checked byte for byte: a row
edited in the database cannot turn into ``allowed`` (invariant 4). The answer names a consent id
and a log position, never the patient.

Rule when several consents cover a file: among the consents whose use for this purpose covers
the channel, the newest one governs. So a newer grant wins over an older refusal, and the
withdrawal or expiry of the newest grant wins over older grants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select, tuple_

from consent import clock
from consent.consents.models import Consent, RequestMedia, Withdrawal
from consent.consents.uses import channel_covered
from consent.crypto.receipts import sign_body, verify_stored
from consent.dbtypes import rfc3339
from consent.errors import IntegrityFailure, VerificationError
from consent.extensions import db
from consent.media.fingerprints import bands, hamming
from consent.media.models import MediaItem, PerceptualBand
from consent.runtime import runtime

DECISIONS = ("allowed", "not_covered", "withdrawn", "expired", "unknown")


@dataclass(frozen=True)
class Match:
    kind: str  # "exact" or "perceptual"
    media_ids: tuple[str, ...]
    distance: int = 0
    matched_sha256: str | None = None

    def as_json(self) -> dict[str, Any]:
        if self.kind == "exact":
            return {"kind": "exact"}
        return {"kind": "perceptual", "distance": self.distance, "sha256": self.matched_sha256}


@dataclass
class _Evidence:
    """What one verified consent receipt says about the purpose asked."""

    consent_id: str
    issued_at: str
    expires_at: str
    use: dict[str, Any]
    withdrawn: set[str] = field(default_factory=set)


def exact_match(sha256: str) -> Match | None:
    ids = tuple(db.session.scalars(select(MediaItem.id).where(MediaItem.sha256 == sha256)))
    return Match("exact", ids) if ids else None


def perceptual_match(phash: str) -> Match | None:
    """The nearest media items within the configured Hamming distance, through the band index."""
    limit: int = current_app.config["CONSENT_PHASH_MAX_DISTANCE"]
    candidates = db.session.execute(
        select(MediaItem.id, MediaItem.phash, MediaItem.sha256)
        .join(PerceptualBand, PerceptualBand.media_id == MediaItem.id)
        .where(tuple_(PerceptualBand.band, PerceptualBand.value).in_(bands(phash)))
        .distinct()
    ).all()
    scored = sorted(
        (hamming(phash, candidate_phash), media_id, sha)
        for media_id, candidate_phash, sha in candidates
        if candidate_phash is not None
    )
    scored = [entry for entry in scored if entry[0] <= limit]
    if not scored:
        return None
    best = scored[0][0]
    nearest = [entry for entry in scored if entry[0] == best]
    return Match("perceptual", tuple(entry[1] for entry in nearest), best, nearest[0][2])


def _evidence(
    match: Match, purpose: str, channel: str | None, sha256_bound: set[str]
) -> list[_Evidence]:
    keyring = runtime().keyring
    consents = db.session.scalars(
        select(Consent)
        .join(RequestMedia, RequestMedia.request_id == Consent.request_id)
        .where(RequestMedia.media_id.in_(match.media_ids))
        .distinct()
    ).all()
    found: list[_Evidence] = []
    for consent in consents:
        try:
            body = verify_stored(
                body_bytes=consent.receipt,
                signature=consent.signature,
                key_id=consent.key_id,
                keys=keyring,
            )
        except VerificationError as exc:
            raise IntegrityFailure(
                f"The receipt of consent {consent.id} does not verify; no answer is given."
            ) from exc
        if body.get("receipt_id") != consent.id or not sha256_bound & {
            item["sha256"] for item in body["media"]
        }:
            raise IntegrityFailure(f"Consent {consent.id} is not bound to this media item.")
        for use in body["uses"]:
            if use["purpose"] == purpose and channel_covered(use["channels"], channel):
                found.append(_Evidence(consent.id, body["issued_at"], body["expires_at"], use))
    if found:
        _attach_withdrawals(found)
    return found


def _attach_withdrawals(found: list[_Evidence]) -> None:
    keyring = runtime().keyring
    by_consent = {evidence.consent_id: evidence for evidence in found}
    rows = db.session.scalars(select(Withdrawal).where(Withdrawal.consent_id.in_(by_consent))).all()
    for row in rows:
        try:
            body = verify_stored(
                body_bytes=row.receipt, signature=row.signature, key_id=row.key_id, keys=keyring
            )
        except VerificationError as exc:
            raise IntegrityFailure(
                f"The receipt of withdrawal {row.id} does not verify; no answer is given."
            ) from exc
        if body.get("consent_id") != row.consent_id:
            raise IntegrityFailure(f"Withdrawal {row.id} names another consent.")
        by_consent[row.consent_id].withdrawn.update(body["purposes"])


def decide(
    *,
    sha256: str,
    purpose: str,
    channel: str | None,
    phash: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The answer envelope for one file and one intended use.

    Raises IntegrityFailure when a stored receipt does not verify: doubt is never ``allowed``.
    """
    now = now or clock.now()
    match = exact_match(sha256)
    if match is None and phash is not None:
        match = perceptual_match(phash)
    decision, governing, grants = "unknown", None, []
    if match is not None:
        bound = {sha256}
        if match.kind == "perceptual":
            bound = set(
                db.session.scalars(
                    select(MediaItem.sha256).where(MediaItem.id.in_(match.media_ids))
                )
            )
        evidence = _evidence(match, purpose, channel, bound)
        decision = "not_covered"
        if evidence:
            governing = max(evidence, key=lambda item: (item.issued_at, item.consent_id))
            use = governing.use
            if not use["granted"]:
                decision = "not_covered"
            elif purpose in governing.withdrawn:
                decision = "withdrawn"
            elif governing.expires_at <= rfc3339(now):
                decision = "expired"
            else:
                decision = "allowed"
                grants = [{"purpose": use["purpose"], "channels": use["channels"]}]
    answer = {
        "type": "verify_answer",
        "decision": decision,
        "purpose": purpose,
        "channel": channel,
        "media_sha256": sha256,
        "match": match.as_json() if match else None,
        "consent_id": governing.consent_id if governing else None,
        "grants": grants,
        "expires_at": governing.expires_at if governing else None,
        "checked_at": rfc3339(now),
    }
    return sign_body(body=answer, body_key="answer", keyring=runtime().keyring)
