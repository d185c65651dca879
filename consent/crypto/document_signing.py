"""The X.509 certificate and key that seal receipt PDFs (PAdES), and the throw-away ones of a demo.

A hospital configures its own certificate (from its PKI or a qualified trust service provider)
by path: CONSENT_DOCUMENT_SIGNING_CERT holds the certificate first, then its chain up to the
root; CONSENT_DOCUMENT_SIGNING_KEY its private key, kept like the other keys (mode 0600, refused
when group or others can read it). ``python -m consent.scripts.bootstrap`` writes a throw-away
CA and certificate, named as such in their subject, so that a demo's PDFs are sealed too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from consent.crypto.keyring import read_private_file, write_private_file
from consent.errors import ConfigurationError

# Marks the demo's certificates in their subject, where every PDF reader shows it.
THROWAWAY_MARK = "THROW-AWAY DEMO"
# The default file names in the keys folder (CONSENT_DOCUMENT_SIGNING_CERT / _KEY).
DOCUMENT_SIGNING_CERT = "document-signing-cert.pem"
DOCUMENT_SIGNING_KEY = "document-signing-key.pem"
THROWAWAY_CA_CERT = "document-signing-throwaway-ca.pem"
THROWAWAY_CA_KEY = "document-signing-throwaway-ca-key.pem"
# RSA, not ECDSA: pyHanko marks an ECDSA-signed PDF as PDF 2.0 (ISO/TS 32002), which PDF/A-3
# (PDF 1.7) does not allow. 3072 bits: the size ANSSI and NIST accept beyond 2030.
RSA_BITS = 3072


@dataclass(frozen=True)
class DocumentSigningIdentity:
    """A certificate (with its chain) and its private key, both PEM, checked to belong together."""

    cert_pem: bytes
    key_pem: bytes = b""
    chain_pem: tuple[bytes, ...] = ()

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate's DER, hex: what a reader shows as its fingerprint."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return hashlib.sha256(der).hexdigest()

    @property
    def is_throwaway(self) -> bool:
        return THROWAWAY_MARK in self.certificate.subject.rfc4514_string()


def load_identity(cert_path: Path, key_path: Path) -> DocumentSigningIdentity | None:
    """The document-signing identity, or None when neither file exists (PDFs go unsealed).

    Raises ConfigurationError when only one exists, the key is readable by others, a file does
    not parse, the key does not match the certificate or the certificate has expired.
    """
    if not cert_path.exists() and not key_path.exists():
        return None
    if not cert_path.exists() or not key_path.exists():
        raise ConfigurationError(
            f"document signing needs both {cert_path} and {key_path}; one is missing"
        )
    key_pem = read_private_file(key_path)
    try:
        certs = x509.load_pem_x509_certificates(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"cannot read the document-signing certificate: {exc}") from exc
    leaf = certs[0]
    if not isinstance(key, rsa.RSAPrivateKey):
        # pyHanko marks a PDF sealed by an ECDSA or EdDSA key as PDF 2.0 (ISO/TS 32002), which
        # PDF/A-3 (PDF 1.7) does not allow: the receipts would stop being PDF/A-3b.
        raise ConfigurationError(
            f"{key_path}: the document-signing key must be RSA to keep receipts PDF/A-3b"
        )
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = serialization.Encoding.PEM
    if key.public_key().public_bytes(pem, spki) != leaf.public_key().public_bytes(pem, spki):
        raise ConfigurationError(f"{key_path} is not the key of the certificate in {cert_path}")
    if leaf.not_valid_after_utc <= datetime.now(UTC):
        raise ConfigurationError(f"the document-signing certificate in {cert_path} has expired")
    return DocumentSigningIdentity(
        cert_pem=leaf.public_bytes(pem),
        key_pem=key_pem,
        chain_pem=tuple(cert.public_bytes(pem) for cert in certs[1:]),
    )


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )


def write_throwaway_identity(
    keys_dir: Path, *, organisation: str, cert_name: str, key_name: str, days: int = 825
) -> None:
    """A throw-away CA (reused when present) and a fresh document-signing certificate from it.

    For demos and tests only: the subjects say THROW-AWAY DEMO, and nobody outside trusts the CA.
    Keys are written 0600; the certificate file holds the certificate, then the CA.
    """
    ca_key_path, ca_cert_path = keys_dir / THROWAWAY_CA_KEY, keys_dir / THROWAWAY_CA_CERT
    now = datetime.now(UTC) - timedelta(minutes=5)
    if ca_key_path.exists() and ca_cert_path.exists():
        ca_key = serialization.load_pem_private_key(read_private_file(ca_key_path), None)
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    else:
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        ca_name = _name(f"{THROWAWAY_MARK} document-signing CA", organisation)
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        write_private_file(ca_key_path, _private_pem(ca_key))
        write_private_file(ca_cert_path, ca_cert.public_bytes(serialization.Encoding.PEM))
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{THROWAWAY_MARK} receipts of {organisation}", organisation))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            # digitalSignature and nonRepudiation (contentCommitment): a document seal.
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    write_private_file(keys_dir / key_name, _private_pem(key))
    write_private_file(keys_dir / cert_name, cert.public_bytes(pem) + ca_cert.public_bytes(pem))


def _private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def install_identity(
    keys_dir: Path, *, cert_name: str, key_name: str, cert_pem: bytes, key_pem: bytes
) -> DocumentSigningIdentity:
    """Put a new certificate and key in place (key 0600); the old pair is kept, renamed with
    the time it was retired (PDFs it sealed carry their certificate and stay valid anyway).

    Raises ConfigurationError, changing nothing, when the new pair does not load.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    trial_cert, trial_key = keys_dir / f".new-{cert_name}", keys_dir / f".new-{key_name}"
    write_private_file(trial_cert, cert_pem)
    write_private_file(trial_key, key_pem)
    try:
        identity = load_identity(trial_cert, trial_key)
    except ConfigurationError:
        trial_cert.unlink()
        trial_key.unlink()
        raise
    assert identity is not None
    for name, trial in ((cert_name, trial_cert), (key_name, trial_key)):
        current = keys_dir / name
        if current.exists():
            current.rename(keys_dir / f"{name}.retired-{stamp}")
        trial.rename(current)
    return identity


def renew_throwaway_identity(
    keys_dir: Path, *, organisation: str, cert_name: str, key_name: str
) -> DocumentSigningIdentity:
    """A new throw-away certificate from the throw-away CA, installed like any other."""
    write_throwaway_identity(
        keys_dir,
        organisation=organisation,
        cert_name=f".throwaway-{cert_name}",
        key_name=f".throwaway-{key_name}",
    )
    cert_path, key_path = keys_dir / f".throwaway-{cert_name}", keys_dir / f".throwaway-{key_name}"
    try:
        return install_identity(
            keys_dir,
            cert_name=cert_name,
            key_name=key_name,
            cert_pem=cert_path.read_bytes(),
            key_pem=read_private_file(key_path),
        )
    finally:
        cert_path.unlink()
        key_path.unlink()
