"""The identity vault: sealed fields and media, per-patient keys, and what erasure relies on."""

from __future__ import annotations

import io
import os

import pytest

from consent.crypto.vault import (
    MEDIA_CHUNK,
    Vault,
    decrypt_stream,
    encrypt_stream,
    open_sealed,
    seal,
)
from consent.errors import ConfigurationError, IntegrityFailure


@pytest.fixture
def vault() -> Vault:
    return Vault(os.urandom(32))


def test_data_key_round_trips_only_through_its_master(vault: Vault) -> None:
    data_key, wrapped = vault.new_data_key()
    assert data_key not in wrapped
    assert vault.unwrap(wrapped) == data_key
    with pytest.raises(IntegrityFailure):
        Vault(os.urandom(32)).unwrap(wrapped)


def test_record_lookup_is_keyed_and_normalised(vault: Vault) -> None:
    assert vault.record_lookup(" mrn-12 ") == vault.record_lookup("MRN-12")
    assert vault.record_lookup("MRN-12") != Vault(os.urandom(32)).record_lookup("MRN-12")
    assert "MRN" not in vault.record_lookup("MRN-12")


def test_sealed_field_altered_fails(vault: Vault) -> None:
    data_key, _ = vault.new_data_key()
    sealed = seal(data_key, b"Jeanne Martin")
    assert b"Jeanne" not in sealed
    assert open_sealed(data_key, sealed) == b"Jeanne Martin"
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(IntegrityFailure):
        open_sealed(data_key, bytes(tampered))


@pytest.mark.parametrize("size", [0, 1, MEDIA_CHUNK - 1, MEDIA_CHUNK, MEDIA_CHUNK * 3 + 7])
def test_media_stream_round_trips(vault: Vault, size: int) -> None:
    data_key, _ = vault.new_data_key()
    plain = os.urandom(size)
    sink = io.BytesIO()
    encrypt_stream(data_key, io.BytesIO(plain), sink)
    assert b"".join(decrypt_stream(data_key, io.BytesIO(sink.getvalue()))) == plain


def test_truncated_media_file_is_detected(vault: Vault) -> None:
    data_key, _ = vault.new_data_key()
    sink = io.BytesIO()
    encrypt_stream(data_key, io.BytesIO(os.urandom(MEDIA_CHUNK * 2 + 5)), sink)
    # Cut at a chunk boundary: every remaining chunk is authentic, only the FINAL tag is missing.
    header = 4 + 24
    cut = sink.getvalue()[: header + MEDIA_CHUNK + 17]
    with pytest.raises(IntegrityFailure, match="truncated"):
        list(decrypt_stream(data_key, io.BytesIO(cut)))


def test_master_key_must_be_32_bytes() -> None:
    with pytest.raises(ConfigurationError):
        Vault(b"short")
