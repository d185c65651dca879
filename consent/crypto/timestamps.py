"""RFC 3161 trusted timestamps: ask an authority (TSA) to vouch for a hash, check its answer.

A token proves that the hashed bytes existed no later than its time, on the word of the
authority, not the host's. Requests, answers and their checks go through rfc3161-client (the
sigstore project's client); the HTTP exchange is RFC 3161 section 3.4 (POST of the DER request,
``application/timestamp-query``). Checking needs the authority's root certificate(s) and nothing
online. Imports neither Flask nor a database.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerifierBuilder,
    decode_timestamp_response,
)
from rfc3161_client import VerificationError as TokenError

from consent.errors import ConfigurationError, ServiceUnavailable, VerificationError

log = logging.getLogger(__name__)

QUERY_TYPE = "application/timestamp-query"  # RFC 3161 3.4
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Timestamp:
    """A checked token: the authority's time, its serial number and who signed it."""

    gen_time: datetime
    serial_number: int
    authority: str  # the signing certificate's subject, RFC 4514
    message_sha256: str


@dataclass(frozen=True)
class TsaConfig:
    """The authorities to ask, in order, and the roots their tokens must chain to."""

    urls: tuple[str, ...]
    roots: tuple[x509.Certificate, ...]
    timeout: float

    @property
    def roots_pem(self) -> tuple[bytes, ...]:
        return tuple(root.public_bytes(serialization.Encoding.PEM) for root in self.roots)


# The c2sp.org/tlog-proof "extra" data of a bundle whose checkpoint is timestamped: JSON naming
# its kind, then each authority's address and its DER reply in base64.
EXTRA_KIND = "rfc3161-timestamps"


def encode_proof_extra(tokens: Sequence[tuple[str, bytes]]) -> bytes:
    """The proof bundle's extra data carrying (authority URL, DER reply) pairs."""
    listed = [{"tsa": url, "reply": base64.b64encode(reply).decode()} for url, reply in tokens]
    return json.dumps({"kind": EXTRA_KIND, "timestamps": listed}, sort_keys=True).encode()


def decode_proof_extra(extra: bytes) -> list[tuple[str, bytes]]:
    """The (authority URL, DER reply) pairs of a proof bundle's extra data.

    Raises VerificationError when the extra data is not ours or is malformed.
    """
    try:
        document = json.loads(extra)
        if document.get("kind") != EXTRA_KIND:
            raise VerificationError("the proof's extra data is not a list of timestamps")
        return [
            (str(item["tsa"]), base64.b64decode(item["reply"], validate=True))
            for item in document["timestamps"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise VerificationError("the proof's timestamps cannot be read") from exc


def load_roots(path: Path) -> list[x509.Certificate]:
    """The root certificates in a PEM file. Raises ConfigurationError when there are none."""
    try:
        roots = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read TSA root certificates from {path}: {exc}") from exc
    if not roots:
        raise ConfigurationError(f"{path} holds no certificate")
    return roots


def verify_timestamp(
    *, response: bytes, message: bytes, roots: Sequence[x509.Certificate], nonce: int | None = None
) -> Timestamp:
    """Check a TimeStampResp (DER) over ``message`` against the authority's ``roots``.

    Raises VerificationError when the token does not parse, is not granted, is not signed by a
    time-stamping certificate chaining to ``roots``, or timestamps other bytes.
    """
    if not roots:
        raise VerificationError("no TSA root certificate to check the timestamp against")
    if not response:
        raise VerificationError("empty timestamp token")
    try:
        decoded = decode_timestamp_response(response)
        builder = VerifierBuilder(roots=list(roots), nonce=nonce)
        builder.build().verify_message(decoded, message)
        certs = [x509.load_der_x509_certificate(der) for der in decoded.signed_data.certificates]
        signer = next(iter(decoded.signed_data.signer_infos))
        leaf = next(
            c
            for c in certs
            if c.issuer == signer.issuer and c.serial_number == signer.serial_number
        )
        return Timestamp(
            gen_time=decoded.tst_info.gen_time,
            serial_number=decoded.tst_info.serial_number,
            authority=leaf.subject.rfc4514_string(),
            message_sha256=hashlib.sha256(message).hexdigest(),
        )
    except (TokenError, ValueError, StopIteration) as exc:
        raise VerificationError(f"the timestamp does not verify: {exc}") from exc


@dataclass(frozen=True)
class IssuedTimestamp:
    url: str
    response: bytes  # the authority's TimeStampResp, DER, as received
    timestamp: Timestamp


def request_timestamp(
    *, urls: Sequence[str], message: bytes, roots: Sequence[x509.Certificate], timeout: float
) -> IssuedTimestamp:
    """Ask each authority in turn to timestamp SHA-256(message); the first checked answer wins.

    Raises ServiceUnavailable when no authority gave a token that verifies.
    """
    request = (
        TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(HashAlgorithm.SHA256)
        .cert_request(cert_request=True)
        .nonce(nonce=True)
        .build()
    )
    failures = []
    for url in urls:
        try:
            response = post_query(url, request.as_bytes(), timeout=timeout)
            checked = verify_timestamp(
                response=response, message=message, roots=roots, nonce=request.nonce
            )
        except (OSError, VerificationError) as exc:
            # The address only: an authority's error page says nothing about a patient.
            log.warning("timestamp authority %s failed: %s", url, type(exc).__name__)
            failures.append(url)
            continue
        return IssuedTimestamp(url, response, checked)
    raise ServiceUnavailable(f"no timestamp authority answered ({', '.join(failures) or 'none'})")


def post_query(url: str, query: bytes, *, timeout: float) -> bytes:
    """POST a DER TimeStampReq, return the DER reply. Raises OSError on any transport failure."""
    if not url.startswith(("http://", "https://")):
        raise OSError(f"not an http(s) address: {url}")
    http = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, data=query, method="POST", headers={"Content-Type": QUERY_TYPE}
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:  # noqa: S310
            body: bytes = answer.read(MAX_REPLY_BYTES + 1)
            kind = answer.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        exc.close()  # an error answer holds its connection open until closed
        raise OSError(f"{url} answered {exc.code}") from None
    except urllib.error.URLError as exc:
        raise OSError(str(exc)) from exc
    if len(body) > MAX_REPLY_BYTES or kind != REPLY_TYPE:
        raise OSError(f"{url} did not answer with a timestamp reply")
    return body
