"""Checkpoints as signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), and offline
proof bundles (c2sp.org/tlog-proof). Free of Flask and of the database.

A checkpoint note::

    <origin>\\n<size>\\n<base64 root>\\n\\n— <key name> <base64(key id || signature)>\\n

The signature covers the body: the three lines with their newlines.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from nacl.signing import VerifyKey

from consent.crypto.keyring import ED25519_ALG_BYTE, Keyring, PublicKey, note_key_id
from consent.errors import VerificationError

EM_DASH = "\u2014"  # c2sp.org/signed-note: signature lines start with U+2014 and a space
PROOF_HEADER = "c2sp.org/tlog-proof@v1"  # c2sp.org/tlog-proof: the first line
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def checkpoint_body(*, origin: str, size: int, root: bytes) -> str:
    if not origin or "\n" in origin:
        raise ValueError("an origin is one non-empty line")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_checkpoint(*, origin: str, size: int, root: bytes, keyring: Keyring) -> str:
    """A signed note of the tree head, signed with the keyring's active key."""
    body = checkpoint_body(origin=origin, size=size, root=root)
    key_id, signature = keyring.sign_with_key_id_bytes(body.encode())
    line = base64.b64encode(key_id + signature).decode()
    return f"{body}\n{EM_DASH} {keyring.name} {line}\n"


def parse_vkey(vkey: str) -> PublicKey:
    """A verifier key ``name+hex(key id)+base64(0x01 || key)``. Raises VerificationError."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise VerificationError("a verifier key is name+keyid+key")
    name, key_id, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("the verifier key is not base64") from exc
    if len(raw) != 33 or raw[:1] != ED25519_ALG_BYTE:
        raise VerificationError("only Ed25519 verifier keys (type 0x01, 32 bytes) are known")
    if note_key_id(name, raw[1:]).hex() != key_id:
        raise VerificationError("the verifier key's id does not match its name and key")
    return PublicKey(name, key_id, VerifyKey(raw[1:]), "active")


def public_key_from_raw(*, name: str, public_key: bytes) -> PublicKey:
    if len(public_key) != 32:
        raise VerificationError("an Ed25519 public key is 32 bytes")
    return PublicKey(name, note_key_id(name, public_key).hex(), VerifyKey(public_key), "active")


def verify_checkpoint(
    *, note: str, keys: Iterable[PublicKey], origin: str | None = None
) -> Checkpoint:
    """Check a checkpoint note: its body, and a signature by one of ``keys``.

    Raises VerificationError when the note is malformed, names another origin, or carries no
    valid signature by a known key.
    """
    body, separator, signatures = note.partition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise VerificationError("a signed note is a body, a blank line, then signature lines")
    lines = body.split("\n")
    if len(lines) < 3:
        raise VerificationError("a checkpoint has an origin, a size and a root")
    note_origin, size_text, root_text = lines[0], lines[1], lines[2]
    if origin is not None and note_origin != origin:
        raise VerificationError(f"checkpoint origin {note_origin!r} is not {origin!r}")
    if not _DECIMAL.fullmatch(size_text):
        raise VerificationError("the checkpoint size is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("the checkpoint root is not base64") from exc
    if len(root) != 32:
        raise VerificationError("the checkpoint root is not a SHA-256 hash")
    signed = (body + "\n").encode()
    by_id = {(key.name, key.key_id): key for key in keys}
    for line in signatures[:-1].split("\n"):
        match = re.fullmatch(EM_DASH + r" (\S+) ([A-Za-z0-9+/=]+)", line)
        if not match:
            raise VerificationError("malformed signature line")
        try:
            raw = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise VerificationError("signature line is not base64") from exc
        key = by_id.get((match.group(1), raw[:4].hex()))
        if key is not None and len(raw) == 68:
            key.verify(message=signed, signature=raw[4:])
            return Checkpoint(note_origin, int(size_text), root)
    raise VerificationError("the checkpoint carries no signature by a trusted key")


@dataclass(frozen=True)
class ProofBundle:
    index: int
    hashes: list[bytes]
    checkpoint_note: str
    extra: bytes | None = None


def format_proof_bundle(bundle: ProofBundle) -> str:
    """The c2sp.org/tlog-proof text of an inclusion proof and its checkpoint."""
    lines = [PROOF_HEADER]
    if bundle.extra is not None:
        lines.append("extra " + base64.b64encode(bundle.extra).decode())
    lines.append(f"index {bundle.index}")
    lines += [base64.b64encode(item).decode() for item in bundle.hashes]
    return "\n".join(lines) + "\n\n" + bundle.checkpoint_note


def parse_proof_bundle(text: str) -> ProofBundle:
    """Read a c2sp.org/tlog-proof text. Raises VerificationError when malformed."""
    head, separator, note = text.partition("\n\n")
    if not separator:
        raise VerificationError("a proof bundle holds an empty line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != PROOF_HEADER:
        raise VerificationError(f"a proof bundle starts with {PROOF_HEADER}")
    position, extra = 1, None
    try:
        if len(lines) > position and lines[position].startswith("extra "):
            extra = base64.b64decode(lines[position][6:], validate=True)
            position += 1
        if len(lines) <= position or not lines[position].startswith("index "):
            raise VerificationError("a proof bundle names the entry's index")
        index_text = lines[position][6:]
        if not _DECIMAL.fullmatch(index_text):
            raise VerificationError("the index is not a decimal number")
        hashes = [base64.b64decode(line, validate=True) for line in lines[position + 1 :]]
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("a proof bundle line is not base64") from exc
    if any(len(item) != 32 for item in hashes):
        raise VerificationError("a proof hash is not 32 bytes")
    return ProofBundle(int(index_text), hashes, note, extra)
