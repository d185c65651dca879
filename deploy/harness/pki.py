"""A throw-away certificate authority and a server certificate for 127.0.0.1, made with the
openssl command line, as an operator would make a test certificate."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA certificate clients trust
    certificate: Path  # the server's certificate, then the CA's (nginx's ssl_certificate)
    key: Path  # the server's private key


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certificates(directory: Path) -> Certificates:
    """A CA (P-256, one day) and a certificate it signs for localhost and 127.0.0.1.

    Raises subprocess.CalledProcessError when openssl fails.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key, csr = directory / "server.key", directory / "server.csr"
    leaf, chain = directory / "server.pem", directory / "fullchain.pem"
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "1",
        "-subj",
        "/CN=consent deploy self-test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    _openssl("req", "-new", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    extensions = directory / "server.ext"
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(leaf),
        "-days",
        "1",
        "-extfile",
        str(extensions),
    )
    chain.write_bytes(leaf.read_bytes() + ca.read_bytes())
    for path in (ca_key, key):
        path.chmod(0o600)
    return Certificates(ca=ca, certificate=chain, key=key)
