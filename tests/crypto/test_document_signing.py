"""The document-signing certificate is kept like the other keys: 0600, refused when others can
read it or when the pair does not belong together; a demo's is named THROW-AWAY; rotation keeps
the old pair and seals with the new one."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from consent.crypto.document_signing import (
    DOCUMENT_SIGNING_CERT,
    DOCUMENT_SIGNING_KEY,
    THROWAWAY_CA_CERT,
    load_identity,
    write_throwaway_identity,
)
from consent.errors import ConfigurationError
from consent.scripts.bootstrap import write_instance_secrets
from consent.web.context import EXTENSION, runtime


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    write_throwaway_identity(
        folder, organisation="Test Hospital", cert_name="c.pem", key_name="k.pem"
    )
    return folder


def test_bootstrap_writes_a_throwaway_certificate_named_so_with_private_files(
    tmp_path: Path,
) -> None:
    created = write_instance_secrets(tmp_path)
    assert any("THROW-AWAY" in line for line in created)
    folder = tmp_path / "keys"
    for name in (DOCUMENT_SIGNING_KEY, DOCUMENT_SIGNING_CERT, THROWAWAY_CA_CERT):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    identity = load_identity(folder / DOCUMENT_SIGNING_CERT, folder / DOCUMENT_SIGNING_KEY)
    assert identity is not None and identity.is_throwaway
    assert len(identity.chain_pem) == 1  # the throw-away CA, after the certificate
    # Run again: nothing is overwritten.
    before = (folder / DOCUMENT_SIGNING_KEY).read_bytes()
    assert not any("THROW-AWAY" in line for line in write_instance_secrets(tmp_path))
    assert (folder / DOCUMENT_SIGNING_KEY).read_bytes() == before


def test_a_key_readable_by_others_is_refused(keys: Path, tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes((keys / "k.pem").read_bytes())
    os.chmod(key, 0o644)
    with pytest.raises(ConfigurationError, match="readable by others"):
        load_identity(keys / "c.pem", key)


def test_a_certificate_without_its_key_is_refused(keys: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="one is missing"):
        load_identity(keys / "c.pem", tmp_path / "absent.pem")
    assert load_identity(tmp_path / "none.pem", tmp_path / "absent.pem") is None


def test_a_key_of_another_certificate_is_refused(keys: Path, tmp_path: Path) -> None:
    write_throwaway_identity(tmp_path, organisation="Other", cert_name="c.pem", key_name="k.pem")
    with pytest.raises(ConfigurationError, match="is not the key of the certificate"):
        load_identity(keys / "c.pem", tmp_path / "k.pem")


def test_rotate_document_certificate_seals_with_a_new_one_and_keeps_the_old(
    app: Any, runner: Any
) -> None:
    rt = runtime()
    assert rt.sealer is not None
    old = rt.sealer.identity.fingerprint
    folder = Path(rt.settings.resolve(rt.settings.keys_dir))
    try:
        result = runner.invoke(args=["rotate-document-certificate"])
        assert result.exit_code == 0, result.output
        assert "THROW-AWAY" in result.output
        new = runtime().sealer
        assert new is not None and new.identity.fingerprint != old
        assert new.identity.fingerprint in result.output
        retired = list(folder.glob(f"{DOCUMENT_SIGNING_KEY}.retired-*"))
        assert retired and stat.S_IMODE(retired[0].stat().st_mode) == 0o600
        # A hospital's pair is installed by path; a pair that does not match is refused.
        wrong = runner.invoke(
            args=[
                "rotate-document-certificate",
                "--cert",
                str(folder / DOCUMENT_SIGNING_CERT),
                "--key",
                str(folder / "master.key"),
            ]
        )
        assert wrong.exit_code != 0
    finally:
        app.extensions[EXTENSION] = rt


def test_a_non_rsa_key_is_refused_since_it_would_break_pdf_a_3(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EC seal")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = tmp_path / "k.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(key_file, 0o600)
    with pytest.raises(ConfigurationError, match="must be RSA"):
        load_identity(tmp_path / "c.pem", key_file)
