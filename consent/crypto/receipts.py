"""Signed envelopes: RFC 8785 canonical JSON signed with Ed25519.

An envelope is ``{"<body key>": {...}, "signature": "<base64>", "key_id": "<8 hex>"}`` where the
signature covers the RFC 8785 bytes of the body. The body key is ``receipt`` for consents,
withdrawals and every other record, ``answer`` for verify answers.

``verify_envelope`` fails closed: it raises VerificationError on any doubt and never returns a
flag a caller could forget to test.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import rfc8785

from consent.crypto.keyring import Keyring, PublicKey
from consent.errors import VerificationError

BodyKey = Literal["receipt", "answer"]
_KEY_ID = re.compile(r"^[0-9a-f]{8}$")


# RFC 8785 requires numbers to be IEEE 754 doubles: integers beyond 2**53 lose precision.
_SAFE_INTEGER = 2**53 - 1


def _plain(value: Any) -> bool:
    """Whether ``json.dumps`` already writes ``value`` exactly as RFC 8785 does.

    True for null, booleans, safe integers, strings without lone surrogates, lists, and objects
    whose keys are in the Basic Multilingual Plane (there, sorting by code point equals RFC 8785's
    sorting by UTF-16 code unit). Python's escaping of strings is the ECMAScript one RFC 8785
    (3.2.2.2) prescribes. Floats and everything else take the rfc8785 package's path.

    A loop over a stack rather than recursion: every verify answer passes through here.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str:
            if not item.isascii() and _SURROGATE.search(item):
                return False
        elif kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
                if not key.isascii() and (_OUTSIDE_BMP.search(key) or _SURROGATE.search(key)):
                    return False
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        elif kind is int:
            if not -_SAFE_INTEGER <= item <= _SAFE_INTEGER:
                return False
        elif item is not None and kind is not bool:
            return False
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")
_OUTSIDE_BMP = re.compile("[\U00010000-\U0010ffff]")


def canonical(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value. Raises VerificationError on values JSON cannot carry.

    Values that ``json.dumps`` already writes canonically (see ``_plain``; every receipt and
    answer the service makes) take that C path; a property test holds it to rfc8785's output.
    """
    if _plain(value):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise VerificationError(f"not canonicalisable JSON: {exc}") from exc


@dataclass(frozen=True)
class VerifiedEnvelope:
    """A body whose signature held, with the exact bytes that were signed."""

    body: dict[str, Any]
    body_bytes: bytes
    key_id: str
    signature: bytes


def sign_body(*, body: Mapping[str, Any], body_key: BodyKey, keyring: Keyring) -> dict[str, Any]:
    """Sign ``body`` with the active key and wrap it in an envelope."""
    body_bytes = canonical(dict(body))
    signature = keyring.sign(body_bytes)
    return {
        body_key: dict(body),
        "signature": base64.b64encode(signature.signature).decode(),
        "key_id": signature.key_id,
    }


def signed_json(*, body: Mapping[str, Any], body_key: BodyKey, keyring: Keyring) -> bytes:
    """Sign ``body`` and return the envelope already serialised as JSON bytes.

    The body's canonical bytes are both what is signed and what is sent, so the answer is
    serialised once (the hot path of verify).
    """
    body_bytes = canonical(dict(body))
    signature = keyring.sign(body_bytes)
    return b"".join(
        (
            b'{"' + body_key.encode() + b'":',
            body_bytes,
            b',"key_id":"' + signature.key_id.encode() + b'","signature":"',
            base64.b64encode(signature.signature),
            b'"}',
        )
    )


def envelope_from_parts(
    *, body_bytes: bytes, signature: bytes, key_id: str, body_key: BodyKey
) -> dict[str, Any]:
    """Rebuild the envelope of a stored record from its exact signed bytes."""
    return {
        body_key: json.loads(body_bytes),
        "signature": base64.b64encode(signature).decode(),
        "key_id": key_id,
    }


def verify_envelope(
    *,
    envelope: Any,
    body_key: BodyKey,
    keys: Keyring | Mapping[str, PublicKey],
) -> VerifiedEnvelope:
    """Check an envelope's shape, key id and signature.

    Raises VerificationError when the envelope is malformed, names an unknown key, or its
    signature does not cover the canonical bytes of its body.
    """
    if not isinstance(envelope, Mapping):
        raise VerificationError("an envelope is a JSON object")
    expected = {body_key, "signature", "key_id"}
    missing = expected - envelope.keys()
    extra = envelope.keys() - expected
    if missing or extra:
        raise VerificationError(
            f"envelope members wrong: missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    body, key_id, signature_b64 = envelope[body_key], envelope["key_id"], envelope["signature"]
    if not isinstance(body, Mapping) or not body:
        raise VerificationError(f"{body_key} must be a non-empty object")
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise VerificationError("key_id must be 8 lower-case hex digits")
    if not isinstance(signature_b64, str):
        raise VerificationError("signature must be a base64 string")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("signature is not valid base64") from exc
    public_key = keys.public_key(key_id) if isinstance(keys, Keyring) else _lookup(keys, key_id)
    body_bytes = canonical(dict(body))
    public_key.verify(message=body_bytes, signature=signature)
    return VerifiedEnvelope(dict(body), body_bytes, key_id, signature)


def verify_stored(
    *, body_bytes: bytes, signature: bytes, key_id: str, keys: Keyring
) -> dict[str, Any]:
    """Check a stored record byte-exact: the stored bytes must be canonical and signed.

    The body returned may be shared with other callers (verified records are remembered by
    the keyring): treat it as read-only.
    Raises VerificationError when the bytes were altered, are not canonical, or the signature or
    key does not hold.
    """
    cache_key = (hashlib.sha256(body_bytes).digest(), bytes(signature), key_id)
    remembered: dict[str, Any] | None = keys.recall_verified(cache_key)
    if remembered is not None:
        return remembered
    keys.public_key(key_id).verify(message=body_bytes, signature=signature)
    try:
        body = json.loads(body_bytes)
    except ValueError as exc:
        raise VerificationError("stored record is not JSON") from exc
    if not isinstance(body, dict) or canonical(body) != body_bytes:
        raise VerificationError("stored record is not in canonical form")
    keys.remember_verified(cache_key, body)
    return body


def _lookup(keys: Mapping[str, PublicKey], key_id: str) -> PublicKey:
    try:
        return keys[key_id]
    except KeyError as exc:
        raise VerificationError(f"unknown key id {key_id!r}") from exc
