"""Signing a record and logging it, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consent.crypto.keyring import Keyring, Signature
from consent.crypto.receipts import canonical, envelope_from_parts
from consent.db import AnySession
from consent.ledger import store


@dataclass(frozen=True)
class LoggedRecord:
    """A signed receipt and where it sits in the log."""

    log_index: int
    body_bytes: bytes
    signature: Signature


def sign_and_log(
    session: AnySession, keyring: Keyring, *, kind: str, record_id: str, body: Mapping[str, Any]
) -> LoggedRecord:
    """Reserve the next log index, sign the receipt carrying it, and append the envelope.

    Runs in the caller's transaction: the caller's commit makes record and leaf exist together.
    """
    index = store.reserve_index(session)
    body_bytes = canonical({**body, "log_index": index})
    signature = keyring.sign(body_bytes)
    envelope = envelope_from_parts(
        body_bytes=body_bytes,
        signature=signature.signature,
        key_id=signature.key_id,
        body_key="receipt",
    )
    store.append(session, index=index, data=canonical(envelope), kind=kind, record_id=record_id)
    return LoggedRecord(index, body_bytes, signature)
