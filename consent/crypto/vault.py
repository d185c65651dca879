"""The identity vault: patient identity and media encrypted under a per-patient data key.

Each patient has a random 32-byte data key, stored only wrapped (XSalsa20-Poly1305) under a key
derived from the instance master key. Destroying the wrapped key erases the patient: the
ciphertexts stay in place, the receipts stay verifiable, and the identity is gone
(crypto-shredding). Record numbers are found through a keyed BLAKE2b hash, so the database never
holds them in a form that can be reversed by guessing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import IO

import nacl.bindings as sodium
import nacl.hash
import nacl.secret
import nacl.utils
from nacl.encoding import HexEncoder, RawEncoder
from nacl.exceptions import CryptoError

from consent.errors import ConfigurationError, IntegrityFailure

# Bytes per encrypted chunk of a media file: big enough to be fast, small enough that a
# 500 MB video never sits in memory whole.
MEDIA_CHUNK = 64 * 1024
_MEDIA_MAGIC = b"CSM1"


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    # BLAKE2b keyed with the master key and personalised per purpose: independent subkeys.
    return nacl.hash.blake2b(
        b"", key=master_key, person=purpose.ljust(16, b"\0"), digest_size=32, encoder=RawEncoder
    )


class Vault:
    """Wraps patient data keys and encrypts what identifies a patient."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ConfigurationError("the master key is 32 bytes")
        self._wrap = nacl.secret.SecretBox(_derive(master_key, b"consent-wrap"))
        self._lookup_key = _derive(master_key, b"consent-lookup")
        # Secrets the service itself must read back in clear (webhook signing secrets): sealed
        # under their own subkey, apart from the patient key wrapping and from any patient key,
        # so that erasing a patient never touches them.
        self._service_secrets = nacl.secret.SecretBox(_derive(master_key, b"consent-secrets"))

    def new_data_key(self) -> tuple[bytes, bytes]:
        """A fresh data key and its wrapped form (the only form that is stored)."""
        data_key = nacl.utils.random(32)
        return data_key, bytes(self._wrap.encrypt(data_key))

    def unwrap(self, wrapped: bytes) -> bytes:
        """The data key inside ``wrapped``. Raises IntegrityFailure if it was altered."""
        try:
            return bytes(self._wrap.decrypt(wrapped))
        except CryptoError as exc:
            raise IntegrityFailure("a patient data key does not decrypt") from exc

    def seal_service_secret(self, secret: bytes) -> bytes:
        """Encrypt a secret the service needs again in clear (a webhook signing secret)."""
        return bytes(self._service_secrets.encrypt(secret))

    def open_service_secret(self, sealed: bytes) -> bytes:
        """The secret inside ``sealed``. Raises IntegrityFailure if it was altered."""
        try:
            return bytes(self._service_secrets.decrypt(sealed))
        except CryptoError as exc:
            raise IntegrityFailure("a sealed service secret does not decrypt") from exc

    def record_lookup(self, record_number: str) -> str:
        """Keyed hash of a normalised record number, for look-up without storing it."""
        normalised = unicodedata.normalize("NFKC", record_number).strip().upper()
        return nacl.hash.blake2b(
            normalised.encode(), key=self._lookup_key, digest_size=32, encoder=HexEncoder
        ).decode()


def seal(data_key: bytes, plaintext: bytes) -> bytes:
    """Encrypt a small value (identity fields) under a patient's data key."""
    return bytes(nacl.secret.SecretBox(data_key).encrypt(plaintext))


def open_sealed(data_key: bytes, ciphertext: bytes) -> bytes:
    """Decrypt a value sealed with ``seal``. Raises IntegrityFailure if it was altered."""
    try:
        return bytes(nacl.secret.SecretBox(data_key).decrypt(ciphertext))
    except CryptoError as exc:
        raise IntegrityFailure("an encrypted field does not decrypt") from exc


def encrypt_stream(data_key: bytes, source: IO[bytes], sink: IO[bytes]) -> None:
    """Encrypt ``source`` into ``sink`` chunk by chunk (secretstream XChaCha20-Poly1305).

    The last chunk carries the FINAL tag, so a truncated file is detected on decryption.
    """
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, data_key)
    sink.write(_MEDIA_MAGIC + header)
    chunk = source.read(MEDIA_CHUNK)
    while True:
        following = source.read(MEDIA_CHUNK)
        tag = (
            sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
            if following
            else sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
        )
        sink.write(sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, tag=tag))
        if not following:
            return
        chunk = following


def decrypt_stream(data_key: bytes, source: IO[bytes]) -> Iterator[bytes]:
    """Yield the plaintext chunks of a file written by ``encrypt_stream``.

    Raises IntegrityFailure on a wrong key, an altered chunk or a truncated file.
    """
    header_size = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
    head = source.read(len(_MEDIA_MAGIC) + header_size)
    if head[: len(_MEDIA_MAGIC)] != _MEDIA_MAGIC or len(head) != len(_MEDIA_MAGIC) + header_size:
        raise IntegrityFailure("not an encrypted media file")
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(
            state, head[len(_MEDIA_MAGIC) :], data_key
        )
        overhead = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
        while True:
            block = source.read(MEDIA_CHUNK + overhead)
            if not block:
                raise IntegrityFailure("encrypted media file is truncated")
            plaintext, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, block)
            yield plaintext
            if tag == sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL:
                return
    except CryptoError as exc:
        raise IntegrityFailure("encrypted media file does not decrypt") from exc
