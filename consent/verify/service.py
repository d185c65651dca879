"""Decide whether a file may be published for a purpose, and sign the answer.

The decision is taken from the signed receipts themselves, each checked byte for byte: a row
edited in the database cannot turn into ``allowed`` (invariant 4). The answer names a consent id
and a log position, never the patient.

Rule when several consents cover a file: among the consents whose use for this purpose covers
the channel, the newest one governs. So a newer grant wins over an older refusal, and the
withdrawal or expiry of the newest grant wins over older grants.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Engine, Select, and_, bindparam, null, or_, select, union_all

from consent import clock
from consent.consents.models import Consent, RequestMedia, Withdrawal
from consent.consents.uses import channel_covered
from consent.crypto.keyring import Keyring
from consent.crypto.receipts import signed_json, verify_stored
from consent.db import db
from consent.db.readpath import PreparedRead
from consent.db.types import rfc3339
from consent.errors import IntegrityFailure, VerificationError
from consent.ledger.models import LogHead
from consent.media.fingerprints import bands, hamming
from consent.media.models import MediaItem, MediaRendition, PerceptualBand
from consent.runtime import runtime

DECISIONS = ("allowed", "not_covered", "withdrawn", "expired", "unknown")


@dataclass(frozen=True)
class SignedAnswer:
    """A verify answer and its envelope as sent: ``{"answer": ..., "key_id", "signature"}``."""

    answer: dict[str, Any]
    envelope_json: bytes


@dataclass
class _Evidence:
    """What one verified consent receipt says about the purpose asked."""

    consent_id: str
    log_index: int
    issued_at: str
    expires_at: str
    use: dict[str, Any]
    withdrawn: set[str] = field(default_factory=set)


# One round trip for everything verify needs about a file: its media items, the consents whose
# requests include them, and their withdrawals. Built once; executed on the Core connection,
# since this is the hot path of every publishing tool.
_media, _links = MediaItem.__table__, RequestMedia.__table__
_consents, _withdrawals = Consent.__table__, Withdrawal.__table__
_renditions = MediaRendition.__table__
_bands = PerceptualBand.__table__
_head = LogHead.__table__
# The log head in the same statement: on PostgreSQL one snapshot, so the checkpoint an answer
# names is the tree that held the receipts it read.
_HEAD_SIZE = select(_head.c.size).where(_head.c.id == 1).scalar_subquery()
_HEAD_ROOT = select(_head.c.root).where(_head.c.id == 1).scalar_subquery()
_HEAD = PreparedRead(select(_head.c.size, _head.c.root).where(_head.c.id == 1))


_RENDITION_COLUMNS = (
    "rendition_id",
    "rendition_kind",
    "rendition_receipt",
    "rendition_signature",
    "rendition_key_id",
)


def _records(*, via_rendition: bool) -> Select[Any]:
    """The records of media items, found directly or through a rendition of them (a copy the
    service made, whose receipt the rendition columns carry)."""
    if via_rendition:
        rendition = [
            _renditions.c.id.label("rendition_id"),
            _renditions.c.kind.label("rendition_kind"),
            _renditions.c.receipt.label("rendition_receipt"),
            _renditions.c.signature.label("rendition_signature"),
            _renditions.c.key_id.label("rendition_key_id"),
        ]
        source = _renditions.join(_media, _media.c.id == _renditions.c.media_id)
    else:
        rendition = [null().label(name) for name in _RENDITION_COLUMNS]
        source = _media
    return (
        select(
            _HEAD_SIZE.label("head_size"),
            _HEAD_ROOT.label("head_root"),
            _media.c.id.label("media_id"),
            _media.c.sha256.label("media_sha256"),
            *rendition,
            _consents.c.id.label("consent_id"),
            _consents.c.receipt.label("consent_receipt"),
            _consents.c.signature.label("consent_signature"),
            _consents.c.key_id.label("consent_key_id"),
            _withdrawals.c.id.label("withdrawal_id"),
            _withdrawals.c.receipt.label("withdrawal_receipt"),
            _withdrawals.c.signature.label("withdrawal_signature"),
            _withdrawals.c.key_id.label("withdrawal_key_id"),
        )
        .select_from(source)
        .outerjoin(_links, _links.c.media_id == _media.c.id)
        .outerjoin(_consents, _consents.c.request_id == _links.c.request_id)
        .outerjoin(_withdrawals, _withdrawals.c.consent_id == _consents.c.id)
    )


# One round trip for everything verify needs about a file: its media items, found by their
# own hash or by the hash of a rendition (each branch through its sha256 index), the consents
# whose requests include them, and their withdrawals. Built once; executed on a held DBAPI
# connection, since this is the hot path of every publishing tool.
_BY_SHA256 = PreparedRead(
    union_all(
        _records(via_rendition=False).where(_media.c.sha256 == bindparam("sha256")),
        _records(via_rendition=True).where(_renditions.c.sha256 == bindparam("sha256")),
    )
)
_BY_MEDIA_IDS = _records(via_rendition=False).where(
    _media.c.id.in_(bindparam("media_ids", expanding=True))
)


# The media items sharing at least one pHash band with the file's, through the band index.
# (band = 0 AND value = ?) OR ...: both engines use the primary key for it, where a row-value IN
# makes SQLite scan every band. Prepared, as the exact lookup is: building the eight conditions
# in the ORM cost 0.8 ms a call.
_NEAR = PreparedRead(
    select(_media.c.id, _media.c.phash, _media.c.sha256)
    .join(_bands, _bands.c.media_id == _media.c.id)
    .where(
        or_(
            *(
                and_(_bands.c.band == band, _bands.c.value == bindparam(f"band{band}"))
                for band in range(8)
            )
        )
    )
    .distinct()
)


def perceptual_candidates(
    phash: str, engine: Engine | None = None
) -> tuple[list[str], int, str] | None:
    """The nearest media items within the configured Hamming distance, through the band index:
    (media ids, distance, SHA-256 of one of them), or None."""
    limit: int = current_app.config["CONSENT_PHASH_MAX_DISTANCE"]
    candidates = _NEAR.all(
        engine or db.engine, **{f"band{band}": value for band, value in bands(phash)}
    )
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
    return [entry[1] for entry in nearest], best, nearest[0][2]


def _verified(
    keyring: Keyring, kind: str, record_id: str, body_bytes: bytes, signature: bytes, key_id: str
) -> dict[str, Any]:
    try:
        return verify_stored(
            body_bytes=body_bytes, signature=signature, key_id=key_id, keys=keyring
        )
    except VerificationError as exc:
        raise IntegrityFailure(
            f"The receipt of {kind} {record_id} does not verify; no answer is given."
        ) from exc


def _exact_match(rows: Sequence[Any], sha256: str, keyring: Keyring) -> dict[str, Any]:
    """The match of rows found by ``sha256``: the file itself, or a rendition of an original.

    Every rendition row must carry a verified receipt binding this very hash to the original
    it joined: a rendition row added in the database cannot make a file verify.
    Raises IntegrityFailure otherwise.
    """
    direct = False
    originals: dict[str, str] = {}
    for row in rows:
        if row.rendition_id is None:
            direct = True
            continue
        if row.rendition_id in originals:
            continue
        body = _verified(
            keyring,
            "rendition",
            row.rendition_id,
            row.rendition_receipt,
            row.rendition_signature,
            row.rendition_key_id,
        )
        if (
            body.get("type") != "rendition"
            or body.get("receipt_id") != row.rendition_id
            or body.get("sha256") != sha256
            or body.get("media_sha256") != row.media_sha256
            or body.get("kind") != row.rendition_kind
        ):
            raise IntegrityFailure(f"Rendition {row.rendition_id} is not bound to this file.")
        originals[row.rendition_id] = row.media_sha256
    if direct:
        return {"kind": "exact"}
    # Two uploads of one photo that differ only in metadata have one publishable copy: the
    # answer names the first original by hash, the decision weighs the consents of both.
    first = min(originals.items(), key=lambda entry: entry[1])
    kind = next(row.rendition_kind for row in rows if row.rendition_id == first[0])
    return {"kind": "exact", "rendition_of": first[1], "rendition": kind}


def _evidence(
    rows: Sequence[Any], purpose: str, channel: str | None, keyring: Keyring
) -> list[_Evidence]:
    """What the verified receipts in ``rows`` say about this purpose and channel.

    Raises IntegrityFailure when a receipt does not verify or is not bound to the media item.
    """
    bound = {row.media_sha256 for row in rows}
    consents: dict[str, _Evidence | None] = {}
    withdrawn: dict[str, set[str]] = {}
    seen_withdrawals: set[str] = set()
    for row in rows:
        if row.consent_id is None:
            continue
        if row.consent_id not in consents:
            body = _verified(
                keyring,
                "consent",
                row.consent_id,
                row.consent_receipt,
                row.consent_signature,
                row.consent_key_id,
            )
            if body.get("receipt_id") != row.consent_id or not bound & {
                item["sha256"] for item in body["media"]
            }:
                raise IntegrityFailure(f"Consent {row.consent_id} is not bound to this media item.")
            use = next(
                (
                    use
                    for use in body["uses"]
                    if use["purpose"] == purpose and channel_covered(use["channels"], channel)
                ),
                None,
            )
            consents[row.consent_id] = (
                _Evidence(
                    row.consent_id, body["log_index"], body["issued_at"], body["expires_at"], use
                )
                if use
                else None
            )
        if row.withdrawal_id is not None and row.withdrawal_id not in seen_withdrawals:
            seen_withdrawals.add(row.withdrawal_id)
            body = _verified(
                keyring,
                "withdrawal",
                row.withdrawal_id,
                row.withdrawal_receipt,
                row.withdrawal_signature,
                row.withdrawal_key_id,
            )
            if body.get("consent_id") != row.consent_id:
                raise IntegrityFailure(f"Withdrawal {row.withdrawal_id} names another consent.")
            withdrawn.setdefault(row.consent_id, set()).update(body["purposes"])
    found = [evidence for evidence in consents.values() if evidence is not None]
    for evidence in found:
        evidence.withdrawn = withdrawn.get(evidence.consent_id, set())
    return found


def decide(
    *,
    sha256: str,
    purpose: str,
    channel: str | None,
    phash: str | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
    keyring: Keyring | None = None,
) -> SignedAnswer:
    """The signed answer for one file and one intended use.

    ``engine`` and ``keyring`` default to the current app's; given both (the verify fast path)
    and no ``phash``, no app context is needed.

    Raises IntegrityFailure when a stored receipt does not verify: doubt is never ``allowed``.
    """
    now = now or clock.now()
    engine = engine or db.engine
    keyring = keyring or runtime().keyring
    # Straight on a pooled DBAPI cursor, not the ORM session: this is the hot path.
    rows: list[Any] = _BY_SHA256.all(engine, sha256=sha256)
    match = _exact_match(rows, sha256, keyring) if rows else None
    if not rows and phash is not None:
        near = perceptual_candidates(phash, engine)
        if near is not None:
            media_ids, distance, matched_sha256 = near
            with engine.connect() as connection:
                rows = list(connection.execute(_BY_MEDIA_IDS, {"media_ids": media_ids}).all())
            match = {"kind": "perceptual", "distance": distance, "sha256": matched_sha256}
    if rows:
        head_size, head_root = rows[0].head_size, rows[0].head_root
    else:
        # No record of this file: the answer still names the tree it was checked against.
        head_size, head_root = _HEAD.all(engine)[0]
    decision, governing, grants = "unknown", None, []
    if match is not None:
        evidence = _evidence(rows, purpose, channel, keyring)
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
        "match": match,
        "consent_id": governing.consent_id if governing else None,
        "log_index": governing.log_index if governing else None,
        "checkpoint": {"size": int(head_size), "root": base64.b64encode(head_root).decode()},
        "grants": grants,
        "expires_at": governing.expires_at if governing else None,
        "checked_at": rfc3339(now),
    }
    return SignedAnswer(answer, signed_json(body=answer, body_key="answer", keyring=keyring))
