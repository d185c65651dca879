"""Signing a record and logging it, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from consent.crypto.keyring import Signature
from consent.crypto.receipts import canonical, envelope_from_parts
from consent.db import db
from consent.ledger import store
from consent.runtime import runtime


@dataclass(frozen=True)
class LoggedRecord:
    """A signed receipt and where it sits in the log."""

    log_index: int
    body_bytes: bytes
    signature: Signature


def sign_and_log(*, kind: str, record_id: str, body: Mapping[str, Any]) -> LoggedRecord:
    """Reserve the next log index, sign the receipt carrying it, and append the envelope.

    Runs in the caller's transaction: the caller's commit makes record and leaf exist together.
    """
    index = store.reserve_index(db.session)
    body_bytes = canonical({**body, "log_index": index})
    signature = runtime().keyring.sign(body_bytes)
    envelope = envelope_from_parts(
        body_bytes=body_bytes,
        signature=signature.signature,
        key_id=signature.key_id,
        body_key="receipt",
    )
    store.append(db.session, index=index, data=canonical(envelope), kind=kind, record_id=record_id)
    return LoggedRecord(index, body_bytes, signature)


def log_origin() -> str:
    """The checkpoint origin: CONSENT_LOG_ORIGIN, or the signing keys' name."""
    configured: str | None = current_app.config.get("CONSENT_LOG_ORIGIN")
    return configured or runtime().keyring.name
