"""A stored record's receipt, checked byte for byte before anything is read from it."""

from __future__ import annotations

from typing import Any, Protocol

from consent.crypto.keyring import Keyring
from consent.crypto.receipts import envelope_from_parts, verify_stored
from consent.errors import IntegrityFailure, VerificationError


class Stored(Protocol):
    """What a signed record stores (consent.records.mixin.SignedRecord)."""

    id: str
    receipt: bytes
    signature: bytes
    key_id: str


def verified_receipt(record: Stored, keyring: Keyring) -> dict[str, Any]:
    """The receipt body of a stored record, after checking it against its signature.

    Raises IntegrityFailure if the stored bytes or signature were altered.
    """
    try:
        return verify_stored(
            body_bytes=record.receipt,
            signature=record.signature,
            key_id=record.key_id,
            keys=keyring,
        )
    except VerificationError as exc:
        raise IntegrityFailure(f"The stored receipt of {record.id} does not verify.") from exc


def receipt_envelope(record: Stored, keyring: Keyring) -> dict[str, Any]:
    """The stored receipt of a record as an envelope, after checking it byte for byte.

    Raises IntegrityFailure if the stored bytes or signature were altered.
    """
    verified_receipt(record, keyring)
    return envelope_from_parts(
        body_bytes=record.receipt,
        signature=record.signature,
        key_id=record.key_id,
        body_key="receipt",
    )
