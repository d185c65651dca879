"""Ed25519 signing keys with rotation, key ids and verifier keys per c2sp.org/signed-note.

The newest key signs; every key ever used stays in the ring so that old receipts still verify.
A "next" key is published and verifies but does not sign yet: across several nodes, every node
learns it first, then each starts signing with it, so no node ever meets a signature it cannot
check (docs/operations.md, "Rotating the signing key").
Key files live in ``instance/keys/`` with mode 0600; a readable-by-others file is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from consent.crypto.private import private_directory
from consent.errors import ConfigurationError, VerificationError

# c2sp.org/signed-note: the signature type byte for Ed25519.
ED25519_ALG_BYTE = b"\x01"
SIGNING_KEYS_FILE = "signing-keys.json"


def note_key_id(name: str, public_key: bytes) -> bytes:
    """Key id of an Ed25519 signed-note key: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_ALG_BYTE + public_key).digest()[:4]


@dataclass(frozen=True)
class PublicKey:
    """A verifying key with its signed-note name and id."""

    name: str
    key_id: str  # 8 lower-case hex digits
    verify_key: VerifyKey
    status: str  # "active" signs now; "retired" only verifies; "next" verifies, signs later

    @property
    def public_bytes(self) -> bytes:
        return bytes(self.verify_key)

    @property
    def vkey(self) -> str:
        """The verifier key line: name+hex(key_id)+base64(0x01 || public key)."""
        raw = base64.b64encode(ED25519_ALG_BYTE + self.public_bytes).decode()
        return f"{self.name}+{self.key_id}+{raw}"

    def verify(self, *, message: bytes, signature: bytes) -> None:
        """Check an Ed25519 signature. Raises VerificationError when it does not hold."""
        if len(signature) != 64:
            raise VerificationError("signature must be 64 bytes")
        try:
            self.verify_key.verify(message, signature)
        except BadSignatureError as exc:
            raise VerificationError(f"bad signature for key {self.key_id}") from exc


@dataclass(frozen=True)
class Signature:
    key_id: str
    signature: bytes


class Keyring:
    """The service's signing keys, newest last. The newest is the active one; ``next_seeds`` are
    published and verify, and never sign."""

    def __init__(
        self, *, name: str, seeds: Iterable[bytes], next_seeds: Iterable[bytes] = ()
    ) -> None:
        seeds = list(seeds)
        upcoming = list(next_seeds)
        if not name or any(c.isspace() or c == "+" for c in name):
            raise ConfigurationError("key name must be non-empty, without spaces or '+'")
        if not seeds:
            raise ConfigurationError("the keyring holds no signing key")
        self.name = name
        self._signing: dict[str, SigningKey] = {}
        self._public: dict[str, PublicKey] = {}
        statuses = ["retired"] * (len(seeds) - 1) + ["active"] + ["next"] * len(upcoming)
        for seed, status in zip([*seeds, *upcoming], statuses, strict=True):
            if len(seed) != 32:
                raise ConfigurationError("an Ed25519 seed is 32 bytes")
            signing = SigningKey(seed)
            key_id = note_key_id(name, bytes(signing.verify_key)).hex()
            if key_id in self._public:
                raise ConfigurationError(f"signing key {key_id} is given twice")
            if status == "active":
                self.active_key_id = key_id
            self._signing[key_id] = signing
            self._public[key_id] = PublicKey(name, key_id, signing.verify_key, status)
        # Records already verified by this keyring, by (SHA-256 of bytes, signature, key id).
        # Stored records are immutable, so a hit is as good as a fresh check; altered bytes
        # hash differently and are checked again.
        self._verified: OrderedDict[tuple[bytes, bytes, str], Any] = OrderedDict()

    VERIFIED_CACHE_SIZE = 4096

    def remember_verified(self, cache_key: tuple[bytes, bytes, str], value: Any) -> None:
        self._verified[cache_key] = value
        if len(self._verified) > self.VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)

    def recall_verified(self, cache_key: tuple[bytes, bytes, str]) -> Any:
        """The value remembered for a verified record, or None."""
        return self._verified.get(cache_key)

    def sign(self, message: bytes) -> Signature:
        signed = self._signing[self.active_key_id].sign(message)
        return Signature(self.active_key_id, signed.signature)

    def sign_with_key_id_bytes(self, message: bytes) -> tuple[bytes, bytes]:
        """Signature and raw 4-byte key id, as a signed-note signature line needs."""
        signature = self.sign(message)
        return bytes.fromhex(signature.key_id), signature.signature

    def public_key(self, key_id: str) -> PublicKey:
        """The verifying key for ``key_id``. Raises VerificationError for an unknown id."""
        try:
            return self._public[key_id]
        except (KeyError, TypeError) as exc:
            raise VerificationError(f"unknown key id {key_id!r}") from exc

    @property
    def active(self) -> PublicKey:
        return self._public[self.active_key_id]

    def public_keys(self) -> list[PublicKey]:
        return list(self._public.values())


def _check_private_file(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigurationError(
            f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
        )


def write_private_file(path: Path, data: bytes) -> None:
    """Write a secret atomically, created with mode 0600 (never briefly world-readable)."""
    private_directory(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_private_file(path: Path) -> bytes:
    """Read a secret, refusing one that group or others can read."""
    _check_private_file(path)
    return path.read_bytes()


@dataclass(frozen=True)
class KeyFile:
    """The signing-key file: the keys' signed-note name (fixed at creation, since the key ids
    derive from it) and the seeds, oldest first."""

    name: str
    seeds: list[bytes]
    next_seeds: list[bytes] = field(default_factory=list)  # entries marked "next": true


def load_key_file(keys_dir: Path) -> KeyFile:
    """Read the signing keys in ``keys_dir``. Raises ConfigurationError when absent or open."""
    path = keys_dir / SIGNING_KEYS_FILE
    if not path.exists():
        raise ConfigurationError(
            f"no signing key at {path}; run: python -m consent.scripts.bootstrap"
        )
    document = json.loads(read_private_file(path))
    seeds: dict[bool, list[bytes]] = {False: [], True: []}
    for entry in document["keys"]:
        seeds[bool(entry.get("next"))].append(base64.b64decode(entry["seed"], validate=True))
    return KeyFile(document["name"], seeds[False], seeds[True])


def add_signing_key(keys_dir: Path, *, name: str, upcoming: bool = False) -> str:
    """Append a fresh seed to the key file, creating it; earlier seeds are never overwritten.

    ``name`` is used only when the file is created; a rotation keeps the file's name. With
    ``upcoming`` the key is marked "next": published, verifying, not signing until promoted.
    Returns the new public key in base64 (nothing secret). Raises ConfigurationError while a
    next key waits: promote it first.
    """
    path = keys_dir / SIGNING_KEYS_FILE
    document: dict[str, Any] = {"name": name, "keys": []}
    if path.exists():
        document = json.loads(read_private_file(path))
    if any(entry.get("next") for entry in document["keys"]):
        raise ConfigurationError("a next key is already published: promote it first")
    signing = SigningKey.generate()
    entry: dict[str, Any] = {
        "seed": base64.b64encode(bytes(signing)).decode(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if upcoming:
        entry["next"] = True
    document["keys"].append(entry)
    write_private_file(path, json.dumps(document, indent=2).encode())
    return base64.b64encode(bytes(signing.verify_key)).decode()


def promote_next_key(keys_dir: Path) -> None:
    """Make the key file's next key the active one (it signs from the next start or reload).

    Raises ConfigurationError when the file has no next key.
    """
    path = keys_dir / SIGNING_KEYS_FILE
    document = json.loads(read_private_file(path))
    upcoming = [entry for entry in document["keys"] if entry.get("next")]
    if not upcoming:
        raise ConfigurationError(f"{path} has no next key to promote")
    for entry in upcoming:
        del entry["next"]
    # The promoted key last: the newest non-next key signs.
    document["keys"] = [e for e in document["keys"] if e not in upcoming] + upcoming
    write_private_file(path, json.dumps(document, indent=2).encode())


def seeds_from_environment(value: str) -> list[bytes]:
    """Seeds given as comma-separated base64, oldest first."""
    try:
        return [base64.b64decode(part.strip(), validate=True) for part in value.split(",") if part]
    except ValueError as exc:
        raise ConfigurationError("CONSENT_SIGNING_KEYS must be base64 seeds") from exc
