"""Signed envelopes and keys: each tamper is named after the attack and must fail closed."""

from __future__ import annotations

import base64
import copy
import json
import os
from typing import Any

import pytest
from nacl.signing import SigningKey

from consent.crypto.keyring import Keyring, PublicKey, note_key_id
from consent.crypto.receipts import canonical, sign_body, verify_envelope, verify_stored
from consent.errors import VerificationError

RECEIPT = {
    "type": "consent",
    "receipt_id": "cs_1",
    "media": [{"sha256": "a" * 64, "phash": "00ff00ff00ff00ff"}],
    "uses": [{"purpose": "teaching", "channels": [], "granted": True}],
    "issued_at": "2026-11-28T10:00:00Z",
}


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(name="hospital.example/consent-log", seeds=[os.urandom(32)])


def test_key_id_follows_signed_note_definition() -> None:
    # The verifier key published in golang.org/x/mod/sumdb/note's documentation:
    # PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW
    raw = base64.b64decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    assert raw[0] == 1
    assert note_key_id("PeterNeumann", raw[1:]).hex() == "c74f20a3"


def test_vkey_line_round_trips(keyring: Keyring) -> None:
    name, key_id, encoded = keyring.active.vkey.split("+", 2)  # base64 may hold "+"
    raw = base64.b64decode(encoded)
    assert name == "hospital.example/consent-log"
    assert raw[0] == 1 and raw[1:] == keyring.active.public_bytes
    assert note_key_id(name, raw[1:]).hex() == key_id == keyring.active_key_id


def test_signed_envelope_verifies_and_body_is_canonical(keyring: Keyring) -> None:
    envelope = sign_body(body=RECEIPT, body_key="receipt", keyring=keyring)
    verified = verify_envelope(envelope=envelope, body_key="receipt", keys=keyring)
    assert verified.body == RECEIPT
    assert verified.body_bytes == canonical(RECEIPT)
    # RFC 8785: keys sorted, no whitespace.
    assert verified.body_bytes.startswith(b'{"issued_at":"2026-11-28T10:00:00Z","media":[')


def test_receipt_with_swapped_media_hash_fails(keyring: Keyring) -> None:
    envelope = sign_body(body=RECEIPT, body_key="receipt", keyring=keyring)
    forged = copy.deepcopy(envelope)
    forged["receipt"]["media"][0]["sha256"] = "b" * 64
    with pytest.raises(VerificationError):
        verify_envelope(envelope=forged, body_key="receipt", keys=keyring)


def test_receipt_with_refusal_turned_into_grant_fails(keyring: Keyring) -> None:
    body = copy.deepcopy(RECEIPT)
    body["uses"][0]["granted"] = False
    envelope = sign_body(body=body, body_key="receipt", keyring=keyring)
    envelope["receipt"]["uses"][0]["granted"] = True
    with pytest.raises(VerificationError):
        verify_envelope(envelope=envelope, body_key="receipt", keys=keyring)


def test_stored_receipt_with_flipped_byte_fails(keyring: Keyring) -> None:
    body_bytes = canonical(RECEIPT)
    signature = keyring.sign(body_bytes)
    verify_stored(
        body_bytes=body_bytes, signature=signature.signature, key_id=signature.key_id, keys=keyring
    )
    for position in (0, len(body_bytes) // 2, len(body_bytes) - 1):
        flipped = bytearray(body_bytes)
        flipped[position] ^= 0x01
        with pytest.raises(VerificationError):
            verify_stored(
                body_bytes=bytes(flipped),
                signature=signature.signature,
                key_id=signature.key_id,
                keys=keyring,
            )


def test_stored_receipt_not_in_canonical_form_fails(keyring: Keyring) -> None:
    # Same JSON value, other bytes: whoever stored it did not store what was signed.
    loose = json.dumps(RECEIPT, indent=1).encode()
    signature = keyring.sign(loose)
    with pytest.raises(VerificationError):
        verify_stored(
            body_bytes=loose, signature=signature.signature, key_id=signature.key_id, keys=keyring
        )


def test_envelope_with_unknown_key_id_fails(keyring: Keyring) -> None:
    envelope = sign_body(body=RECEIPT, body_key="receipt", keyring=keyring)
    envelope["key_id"] = "00000000" if envelope["key_id"] != "00000000" else "11111111"
    with pytest.raises(VerificationError, match="unknown key id"):
        verify_envelope(envelope=envelope, body_key="receipt", keys=keyring)


def test_answer_resigned_with_another_key_fails(keyring: Keyring) -> None:
    impostor = Keyring(name=keyring.name, seeds=[os.urandom(32)])
    answer = {"type": "verify_answer", "decision": "allowed", "media_sha256": "a" * 64}
    forged = sign_body(body=answer, body_key="answer", keyring=impostor)
    # Claiming the real key id does not help either.
    forged_claiming_real_id = {**forged, "key_id": keyring.active_key_id}
    for envelope in (forged, forged_claiming_real_id):
        with pytest.raises(VerificationError):
            verify_envelope(envelope=envelope, body_key="answer", keys=keyring)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda e: None,
        lambda e: [],
        lambda e: {k: v for k, v in e.items() if k != "signature"},
        lambda e: {**e, "extra": 1},
        lambda e: {**e, "receipt": {}},
        lambda e: {**e, "signature": "***"},
        lambda e: {**e, "signature": base64.b64encode(b"short").decode()},
        lambda e: {**e, "key_id": "XYZ"},
        lambda e: {**e, "key_id": 1234},
        lambda e: {"answer": e["receipt"], "signature": e["signature"], "key_id": e["key_id"]},
    ],
    ids=[
        "null",
        "array",
        "no_signature",
        "extra_member",
        "empty_body",
        "signature_not_base64",
        "signature_too_short",
        "key_id_not_hex",
        "key_id_not_string",
        "answer_presented_as_receipt",
    ],
)
def test_malformed_envelope_fails(keyring: Keyring, mangle: Any) -> None:
    envelope = sign_body(body=RECEIPT, body_key="receipt", keyring=keyring)
    with pytest.raises(VerificationError):
        verify_envelope(envelope=mangle(envelope), body_key="receipt", keys=keyring)


def test_rotation_keeps_old_signatures_valid() -> None:
    old_seed, new_seed = os.urandom(32), os.urandom(32)
    before = Keyring(name="h/consent-log", seeds=[old_seed])
    old_envelope = sign_body(body=RECEIPT, body_key="receipt", keyring=before)
    after = Keyring(name="h/consent-log", seeds=[old_seed, new_seed])
    new_envelope = sign_body(body=RECEIPT, body_key="receipt", keyring=after)
    assert new_envelope["key_id"] != old_envelope["key_id"]
    assert after.active_key_id == new_envelope["key_id"]
    for envelope in (old_envelope, new_envelope):
        verify_envelope(envelope=envelope, body_key="receipt", keys=after)
    statuses = {key.key_id: key.status for key in after.public_keys()}
    assert statuses == {old_envelope["key_id"]: "retired", new_envelope["key_id"]: "active"}


def test_public_key_verify_raises_not_returns() -> None:
    signing = SigningKey.generate()
    key = PublicKey("n", "00000000", signing.verify_key, "active")
    assert key.verify(message=b"m", signature=signing.sign(b"m").signature) is None
    with pytest.raises(VerificationError):
        key.verify(message=b"other", signature=signing.sign(b"m").signature)
