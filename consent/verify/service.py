"""Decide whether a file may be published for a purpose, and sign the answer.

The decision is taken from the signed receipts themselves, each checked byte for byte: a row
edited in the database cannot turn into ``allowed`` (invariant 4). The answer names a consent id
and a log position, never the patient.

Rule when several consents cover a file: among the consents whose use for this purpose covers
the channel, the newest one governs. So a newer grant wins over an older refusal, and the
withdrawal or expiry of the newest grant wins over older grants.

A use granted "only with my face hidden" (issue 19) answers ``masked_only`` for the original
photo, naming the face-masked copy the consent receipt binds (``masked_sha256``) so that a
publishing tool can offer it instead, and ``allowed`` for that copy (exact, or re-encoded and
found nearer the copy than the original; a tie is the original's, the more protective answer).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from consent import clock
from consent.consents.uses import channel_covered
from consent.crypto.keyring import Keyring
from consent.crypto.receipts import signed_json, verify_stored
from consent.db.types import rfc3339
from consent.errors import IntegrityFailure, VerificationError
from consent.verify.statements import (
    BY_MEDIA_IDS,
    BY_RENDITION_IDS,
    BY_SHA256,
    HEAD,
    perceptual_candidates,
)

# "modified": a case text that is an edit of a consented one (consent.verify.texts).
# "masked_only": granted for the face-masked copy only (issue 19).
DECISIONS = ("allowed", "masked_only", "not_covered", "withdrawn", "expired", "unknown", "modified")
FACE_MASKED = "face-masked"


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
    # How the patient's decision was collected: tablet, paper, external (integration in
    # version 1 receipts). Publishers may accept some methods only.
    method: str
    use: dict[str, Any]
    withdrawn: set[str] = field(default_factory=set)
    # Original SHA-256 -> its face-masked copy's, as the receipt binds them (issue 19).
    masked: dict[str, str] = field(default_factory=dict)
    # Set by ``weigh`` for a ``masked_only`` answer: the copy a publisher may use instead.
    masked_sha256: str | None = None


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
    rows: Sequence[Any],
    purpose: str,
    channel: str | None,
    keyring: Keyring,
    bound_in: str = "media",
) -> list[_Evidence]:
    """What the verified receipts in ``rows`` say about this purpose and channel; each must
    bind the rows' ``media_sha256`` in its ``bound_in`` list (``media``, or ``texts`` for the
    case texts, whose rows carry the text's hash in that column).

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
                item["sha256"] for item in body.get(bound_in, [])
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
                    row.consent_id,
                    body["log_index"],
                    body["issued_at"],
                    body["expires_at"],
                    body["method"],
                    use,
                    masked={
                        item["sha256"]: item["masked_sha256"]
                        for item in body.get("media", [])
                        if "masked_sha256" in item
                    },
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


def weigh(
    rows: Sequence[Any],
    purpose: str,
    channel: str | None,
    keyring: Keyring,
    now: datetime,
    bound_in: str = "media",
    masked_copy: str | None = None,
) -> tuple[str, _Evidence | None, list[dict[str, Any]]]:
    """The decision the matched rows' receipts give: (decision, governing consent, grants).
    ``masked_copy``: the SHA-256 of the face-masked copy the file asked is (or is near).

    Raises IntegrityFailure when a receipt does not verify or is not bound.
    """
    evidence = _evidence(rows, purpose, channel, keyring, bound_in)
    if not evidence:
        return "not_covered", None, []
    governing = max(evidence, key=lambda item: (item.issued_at, item.consent_id))
    use = governing.use
    if not use["granted"]:
        return "not_covered", governing, []
    if purpose in governing.withdrawn:
        return "withdrawn", governing, []
    if governing.expires_at <= rfc3339(now):
        return "expired", governing, []
    grant = {"purpose": use["purpose"], "channels": use["channels"]}
    if use.get("face") == "hidden" and bound_in == "media":
        grant["face"] = "hidden"
        copies = [governing.masked.get(sha) for sha in sorted({row.media_sha256 for row in rows})]
        if masked_copy is None or masked_copy not in copies:
            # The original (or a copy of it that is not the masked one): fails closed.
            governing.masked_sha256 = next((copy for copy in copies if copy), None)
            return "masked_only", governing, []
    return "allowed", governing, [grant]


def decide(
    *,
    sha256: str,
    purpose: str,
    channel: str | None,
    engine: Engine,
    keyring: Keyring,
    phash: str | None = None,
    max_distance: int = 0,
    now: datetime | None = None,
) -> SignedAnswer:
    """The signed answer for one file and one intended use; a ``phash`` (an upload) also
    finds a re-encoded copy within ``max_distance``. Needs no app context.

    Raises IntegrityFailure when a stored receipt does not verify: doubt is never ``allowed``.
    """
    now = now or clock.now()
    # Straight on a pooled DBAPI cursor, not the ORM session: this is the hot path.
    rows: list[Any] = BY_SHA256.all(engine, sha256=sha256)
    match = _exact_match(rows, sha256, keyring) if rows else None
    if not rows and phash is not None:
        rows, match = _perceptual(phash, engine, keyring, max_distance)
    if rows:
        head_size, head_root = rows[0].head_size, rows[0].head_root
    else:
        # No record of this file: the answer still names the tree it was checked against.
        head_size, head_root = HEAD.all(engine)[0]
    masked_copy = None
    if match is not None and match.get("rendition") == FACE_MASKED:
        masked_copy = match.get("sha256", sha256)
    decision, governing, grants = (
        weigh(rows, purpose, channel, keyring, now, masked_copy=masked_copy)
        if match is not None
        else ("unknown", None, [])
    )
    return signed_answer(
        bound=("media_sha256", sha256),
        decision=decision,
        purpose=purpose,
        channel=channel,
        match=match,
        governing=governing,
        grants=grants,
        head=(head_size, head_root),
        now=now,
        keyring=keyring,
        masked_sha256=governing.masked_sha256 if governing else None,
    )


def _perceptual(
    phash: str, engine: Engine, keyring: Keyring, max_distance: int
) -> tuple[list[Any], dict[str, Any] | None]:
    """The records of the media items (or face-masked copies) nearest to ``phash``, and the
    match; a masked copy only when strictly nearer than any original."""
    near = perceptual_candidates(phash, engine, max_distance=max_distance)
    masked = perceptual_candidates(phash, engine, max_distance=max_distance, masked=True)
    rows: list[Any] = []
    if masked is not None and (near is None or masked[1] < near[1]):
        rendition_ids, distance, matched_sha256 = masked
        with engine.connect() as connection:
            found = connection.execute(BY_RENDITION_IDS, {"rendition_ids": rendition_ids})
            rows = [row for row in found.all() if row.rendition_kind == FACE_MASKED]
        bound = _exact_match(
            [row for row in rows if row.rendition_id == rendition_ids[0]], matched_sha256, keyring
        )
        match = {"kind": "perceptual", "distance": distance, "sha256": matched_sha256}
        return rows, {**match, "rendition_of": bound["rendition_of"], "rendition": FACE_MASKED}
    if near is None:
        return rows, None
    media_ids, distance, matched_sha256 = near
    with engine.connect() as connection:
        rows = list(connection.execute(BY_MEDIA_IDS, {"media_ids": media_ids}).all())
    return rows, {"kind": "perceptual", "distance": distance, "sha256": matched_sha256}


def signed_answer(
    *,
    bound: tuple[str, str],
    decision: str,
    purpose: str,
    channel: str | None,
    match: dict[str, Any] | None,
    governing: _Evidence | None,
    grants: list[dict[str, Any]],
    head: tuple[int, bytes],
    now: datetime,
    keyring: Keyring,
    masked_sha256: str | None = None,
) -> SignedAnswer:
    """The verify answer, signed: the same shape for a file and for a text, but for the field
    naming what was asked (``bound``: ``media_sha256`` or ``text_sha256``, and the hash);
    ``masked_sha256`` only in a ``masked_only`` answer (the copy to publish instead, or None
    when there is none: a video)."""
    answer = {
        "type": "verify_answer",
        "decision": decision,
        "purpose": purpose,
        "channel": channel,
        bound[0]: bound[1],
        "match": match,
        "consent_id": governing.consent_id if governing else None,
        "log_index": governing.log_index if governing else None,
        "method": governing.method if governing else None,
        "checkpoint": {"size": int(head[0]), "root": base64.b64encode(head[1]).decode()},
        "grants": grants,
        "expires_at": governing.expires_at if governing else None,
        "checked_at": rfc3339(now),
    }
    if decision == "masked_only":
        answer["masked_sha256"] = masked_sha256
    return SignedAnswer(answer, signed_json(body=answer, body_key="answer", keyring=keyring))
