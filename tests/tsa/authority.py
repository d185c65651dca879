"""A real RFC 3161 timestamping authority for the tests: OpenSSL's own ``openssl ts -reply``
with a throw-away CA, behind a small local HTTP handler (RFC 3161 3.4: POST of the DER query).

``down = True`` makes it answer 503, as an authority that is out of service would.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class OpensslTsa:
    """Its own CA (``ca_pem``), a time-stamping certificate, and ``url`` to POST queries to."""

    def __init__(self, port: int = 0) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="test-tsa-")
        self.dir = Path(self._scratch.name)
        now = datetime.now(UTC) - timedelta(minutes=5)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (
            x509.CertificateBuilder()
            .subject_name(_name("Test TSA root (throw-away)"))
            .issuer_name(_name("Test TSA root (throw-away)"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Test TSA (throw-away)"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # RFC 3161 2.3: the only extended key usage, critical.
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        self.ca_pem = ca.public_bytes(pem)
        self.tsa_pem = cert.public_bytes(pem)
        (self.dir / "ca.pem").write_bytes(self.ca_pem)
        (self.dir / "tsa.pem").write_bytes(self.tsa_pem)
        (self.dir / "tsa.key").write_bytes(_pem_key(key))
        (self.dir / "serial").write_text("01\n")
        (self.dir / "tsa.cnf").write_text(CONFIG.format(dir=self.dir))
        self.ca_path = self.dir / "ca.pem"
        self.down = False
        self.queries = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def reply(self, query: bytes) -> bytes:
        """The DER TimeStampResp ``openssl ts -reply`` gives for a DER query."""
        with self._lock, tempfile.TemporaryDirectory(dir=self.dir) as scratch:
            query_file, reply_file = Path(scratch) / "q.tsq", Path(scratch) / "r.tsr"
            query_file.write_bytes(query)
            subprocess.run(
                [
                    "openssl",
                    "ts",
                    "-reply",
                    "-config",
                    str(self.dir / "tsa.cnf"),
                    "-queryfile",
                    str(query_file),
                    "-out",
                    str(reply_file),
                ],
                check=True,
                capture_output=True,
            )
            self.queries += 1
            return reply_file.read_bytes()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                query = self.rfile.read(length)
                if authority.down or self.headers.get_content_type() != (
                    "application/timestamp-query"
                ):
                    self.send_response(503 if authority.down else 415)
                    self.end_headers()
                    return
                body = authority.reply(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def openssl_verify(self, *, data: bytes, reply: bytes) -> subprocess.CompletedProcess[bytes]:
        """``openssl ts -verify`` of a reply over ``data``, against this authority's CA only."""
        with tempfile.TemporaryDirectory(dir=self.dir) as scratch:
            data_file, reply_file = Path(scratch) / "data", Path(scratch) / "r.tsr"
            data_file.write_bytes(data)
            reply_file.write_bytes(reply)
            return subprocess.run(
                [
                    "openssl",
                    "ts",
                    "-verify",
                    "-data",
                    str(data_file),
                    "-in",
                    str(reply_file),
                    "-CAfile",
                    str(self.ca_path),
                    "-untrusted",
                    str(self.dir / "tsa.pem"),
                ],
                capture_output=True,
            )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._scratch.cleanup()
