"""What the public verification page shows of one consent: uses, states, expiry. No identity."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select

from consent import clock
from consent.consents.models import Consent, Withdrawal
from consent.crypto.keyring import Keyring
from consent.crypto.receipts import verify_stored
from consent.db import AnySession
from consent.db.types import rfc3339
from consent.errors import IntegrityFailure, NotFound, VerificationError
from consent.media.fingerprints import fingerprint, hamming


@dataclass(frozen=True)
class UseState:
    purpose: str
    channels: list[str]
    state: str  # granted, refused, withdrawn, expired
    # Granted only for the face-masked copy (issue 19): publishers must not post the original.
    face_hidden: bool = False


@dataclass(frozen=True)
class ConsentStatus:
    consent_id: str
    issued_at: str
    expires_at: str
    expired: bool
    log_index: int
    uses: list[UseState]


def consent_status(session: AnySession, keyring: Keyring, consent_id: str) -> ConsentStatus:
    """The state of every use of a consent, from its verified receipts.

    Raises NotFound, or IntegrityFailure when a stored receipt does not verify.
    """
    consent = session.get(Consent, consent_id)
    if consent is None:
        raise NotFound("No such consent.")
    try:
        body = verify_stored(
            body_bytes=consent.receipt,
            signature=consent.signature,
            key_id=consent.key_id,
            keys=keyring,
        )
        withdrawn: set[str] = set()
        for row in session.scalars(select(Withdrawal).where(Withdrawal.consent_id == consent_id)):
            withdrawal = verify_stored(
                body_bytes=row.receipt, signature=row.signature, key_id=row.key_id, keys=keyring
            )
            withdrawn.update(withdrawal["purposes"])
    except VerificationError as exc:
        raise IntegrityFailure("This consent's records do not verify.") from exc
    expired = body["expires_at"] <= rfc3339(clock.now())
    uses = []
    for use in body["uses"]:
        if not use["granted"]:
            state = "refused"
        elif use["purpose"] in withdrawn:
            state = "withdrawn"
        elif expired:
            state = "expired"
        else:
            state = "granted"
        uses.append(UseState(use["purpose"], use["channels"], state, use.get("face") == "hidden"))
    return ConsentStatus(
        consent_id, body["issued_at"], body["expires_at"], expired, body["log_index"], uses
    )


@dataclass(frozen=True)
class FileCheck:
    """Whether a file is one of the items a consent covers, and how it matched."""

    covered: bool
    match: str | None = None  # "exact" (SHA-256) or "perceptual" (pHash within the distance)
    distance: int | None = None
    item: int | None = None  # its position among the consent's items, from 1
    total: int = 0


def check_file(
    session: AnySession,
    keyring: Keyring,
    consent_id: str,
    stream: IO[bytes],
    *,
    limit: int,
    max_pixels: int,
    max_distance: int,
    max_decoded_pixels: int | None = None,
) -> FileCheck:
    """Compare a file with the items the consent's verified receipt binds.

    Raises NotFound, IntegrityFailure (the receipt does not verify), and for the file as the
    uploads do: UnsupportedMediaType, PayloadTooLarge, InvalidInput (empty, damaged, a
    polyglot, a decompression bomb). Nothing is stored.
    """
    consent = session.get(Consent, consent_id)
    if consent is None:
        raise NotFound("No such consent.")
    try:
        body = verify_stored(
            body_bytes=consent.receipt,
            signature=consent.signature,
            key_id=consent.key_id,
            keys=keyring,
        )
    except VerificationError as exc:
        raise IntegrityFailure("This consent's records do not verify.") from exc
    printed = fingerprint(
        stream, limit=limit, max_pixels=max_pixels, max_decoded_pixels=max_decoded_pixels
    )
    items = body["media"]
    for number, item in enumerate(items, 1):
        if hmac.compare_digest(item["sha256"], printed.sha256):
            return FileCheck(True, "exact", None, number, len(items))
    if printed.phash is not None:
        near = [
            (hamming(printed.phash, item["phash"]), number)
            for number, item in enumerate(items, 1)
            if item.get("phash")
        ]
        if near and min(near)[0] <= max_distance:
            distance, number = min(near)
            return FileCheck(True, "perceptual", distance, number, len(items))
    return FileCheck(False, total=len(items))


def published_keys(keyring: Keyring) -> dict[str, Any]:
    """The document of /.well-known/consent-keys: every public key, active and retired."""
    return {
        "keys": [
            {
                "key_id": key.key_id,
                "algorithm": "Ed25519",
                "public_key": base64.b64encode(key.public_bytes).decode(),
                "vkey": key.vkey,
                "status": key.status,
            }
            for key in keyring.public_keys()
        ]
    }
