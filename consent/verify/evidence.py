"""What the stored receipts say about a file, each checked byte for byte before it is read:
the match (the file itself, or a rendition of an original) and, per consent, its subject and
what it says about the purpose asked.

Raises IntegrityFailure on any receipt that does not verify or is not bound to what was found:
doubt is never ``allowed`` (invariant 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from consent.consents.uses import channel_covered
from consent.crypto.keyring import Keyring
from consent.crypto.receipts import verify_stored
from consent.errors import IntegrityFailure, VerificationError


@dataclass
class Evidence:
    """What one verified consent receipt says about the purpose asked."""

    consent_id: str
    log_index: int
    issued_at: str
    expires_at: str
    # How the patient's decision was collected: tablet, paper, external (integration in
    # version 1 receipts). Publishers may accept some methods only.
    method: str
    use: dict[str, Any]
    # The patient who decided (the receipt's pseudonymous ``subject``): the consent governs
    # for them alone (consent.verify.service).
    subject: str
    withdrawn: set[str] = field(default_factory=set)
    # Original SHA-256 -> its face-masked copy's, as the receipt binds them (issue 19).
    masked: dict[str, str] = field(default_factory=dict)


def verified(
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


def exact_match(rows: Sequence[Any], sha256: str, keyring: Keyring) -> dict[str, Any]:
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
        body = verified(
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


def subjects_of(rows: Sequence[Any]) -> set[str]:
    """The patients the matched media items show (media_subjects), as the rows carry them;
    a text's rows carry none (its subjects are those of its consents)."""
    return {row.subject_id for row in rows if getattr(row, "subject_id", None) is not None}


def evidence(
    rows: Sequence[Any],
    purpose: str,
    channel: str | None,
    keyring: Keyring,
    bound_in: str = "media",
) -> tuple[list[Evidence], set[str]]:
    """What the verified receipts in ``rows`` say about this purpose and channel, and the
    subjects of every consent found; each must bind the rows' ``media_sha256`` in its
    ``bound_in`` list (``media``, or ``texts`` for the case texts, whose rows carry the text's
    hash in that column). A consent none of whose uses covers the purpose and channel gives no
    evidence, but its subject still counts.

    Raises IntegrityFailure when a receipt does not verify or is not bound to the media item.
    """
    bound = {row.media_sha256 for row in rows}
    consents: dict[str, Evidence | None] = {}
    withdrawn: dict[str, set[str]] = {}
    seen_withdrawals: set[str] = set()
    subjects: set[str] = set()
    for row in rows:
        if row.consent_id is None:
            continue
        if row.consent_id not in consents:
            body = verified(
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
            subjects.add(str(body["subject"]))
            use = next(
                (
                    use
                    for use in body["uses"]
                    if use["purpose"] == purpose and channel_covered(use["channels"], channel)
                ),
                None,
            )
            consents[row.consent_id] = (
                Evidence(
                    row.consent_id,
                    body["log_index"],
                    body["issued_at"],
                    body["expires_at"],
                    body["method"],
                    use,
                    str(body["subject"]),
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
            body = verified(
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
    found = [item for item in consents.values() if item is not None]
    for item in found:
        item.withdrawn = withdrawn.get(item.consent_id, set())
    return found, subjects
