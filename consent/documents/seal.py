"""PAdES seals on rendered PDFs, with pyHanko: any PDF reader shows who issued the document and
that it has not changed since.

The seal is an incremental update appended to the PDF/A-3b file WeasyPrint wrote: the pages,
the XMP metadata, the output intent and the attachments stay byte for byte as they were, and
ISO 19005-3 allows such an update. With a timestamping authority the signature carries its
signature timestamp (PAdES baseline B-T), the certificates of the seal and of the timestamp
are embedded in a document security store appended after the seal (B-LT, as far as validation
data exists offline: revocation data is added when the CA publishes it; a throw-away demo CA
publishes none). Not B-LTA: Poppler cannot validate its document timestamp. Without an
authority, or while it is down, the seal is B-B and the caller is told, so it is not kept in
a cache.

Handed its inputs (PDF bytes, certificate, words in the patient's language); queries nothing.
"""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

from consent.crypto.document_signing import DocumentSigningIdentity
from consent.crypto.timestamps import post_query

log = logging.getLogger(__name__)

SEAL_FIELD = "ConsentServiceSeal"
B_B, B_T, B_LT = "PAdES-B-B", "PAdES-B-T", "PAdES-B-LT"


@dataclass(frozen=True)
class SealWords:
    """What the seal says, in the patient's language (PDF readers show both)."""

    reason: str
    location: str


@dataclass(frozen=True)
class Sealer:
    """The certificate that seals, and the timestamping authorities of the signature timestamp."""

    identity: DocumentSigningIdentity
    tsa_urls: tuple[str, ...] = ()
    tsa_roots_pem: tuple[bytes, ...] = ()
    tsa_timeout: float = 10.0

    @property
    def cache_tag(self) -> str:
        """Part of a cache key: a new certificate means a new seal."""
        return self.identity.fingerprint


@dataclass(frozen=True)
class SealedPdf:
    pdf: bytes
    level: str  # B_B, B_T or B_LT


@cache
def _import_pyhanko() -> None:
    """pyHanko, imported with the first seal. Its CMS module imports cryptography's DSA key
    type, which cryptography now flags as deprecated: that warning is about DSA, which no seal
    here uses, so it is silenced for this import only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DSA is deprecated")
        import pyhanko.sign.signers  # noqa: F401
    logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_OfflineOnPurpose())


class _OfflineOnPurpose(logging.Filter):
    """pyHanko warns at every seal that it embeds validation data without fetching any: the
    service never fetches (no code reaches the internet at run time), so that is the intent."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


@cache
def _pyhanko_signer(identity: DocumentSigningIdentity) -> Any:
    """pyHanko's signer for an identity, parsed once per worker.

    pyHanko's SimpleSigner parses its private key again for every signature, and parsing an
    RSA key checks it (a few hundred milliseconds for 3072 bits, twice per seal): this one
    keeps the parsed key for RSA PKCS#1 v1.5, pyHanko's default for RSA, and leaves any other
    mechanism to pyHanko.
    """
    _import_pyhanko()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    parsed = serialization.load_pem_private_key(identity.key_pem, password=None)

    class KeptKeySigner(signers.SimpleSigner):
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            if mechanism.signature_algo == "rsassa_pkcs1v15" and isinstance(parsed, RSAPrivateKey):
                hashed = get_pyca_cryptography_hash(digest_algorithm)
                return parsed.sign(data, PKCS1v15(), hashed)
            signature: bytes = super().sign_raw(data, digest_algorithm)
            return signature

    cert = next(iter(load_certs_from_pemder_data(identity.cert_pem)))
    chain = [c for pem in identity.chain_pem for c in load_certs_from_pemder_data(pem)]
    key = load_private_key_from_pemder_data(identity.key_pem, passphrase=None)
    return KeptKeySigner(
        signing_cert=cert,
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([cert, *chain]),  # type: ignore[no-untyped-call]
    )


@cache
def _timestamper(urls: tuple[str, ...], timeout: float) -> Any:
    """A pyHanko TimeStamper that posts through our client, trying each authority in turn
    (one per worker: it remembers the size of a token, which pyHanko asks for before signing).
    """
    _import_pyhanko()
    from asn1crypto import tsp
    from pyhanko.sign.timestamps.api import TimeStamper

    class FailoverTimeStamper(TimeStamper):
        async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
            error: OSError | None = None
            for url in urls:
                try:
                    return tsp.TimeStampResp.load(post_query(url, req.dump(), timeout=timeout))
                except OSError as exc:
                    error = exc
            raise OSError(f"no timestamp authority answered: {error}")

    return FailoverTimeStamper()  # type: ignore[no-untyped-call]


def seal_pdf(pdf: bytes, *, sealer: Sealer, words: SealWords) -> SealedPdf:
    """Append a PAdES seal to ``pdf``: B-LT (or B-T) with an authority that answers, else B-B.

    Raises ConfigurationError-free: every certificate was checked when loaded; pyHanko's own
    errors (a PDF it cannot update) propagate.
    """
    if sealer.tsa_urls:
        try:
            return _sign(pdf, sealer, words, timestamped=True)
        except Exception as exc:  # an authority down must not stop a patient's receipt
            log.warning("PDF seal without a timestamp: %s", type(exc).__name__)
    return _sign(pdf, sealer, words, timestamped=False)


def _same_producer_in_info_and_xmp(writer: Any) -> None:
    """pyHanko writes its own name as the XMP producer and appends it to the Info dictionary's;
    PDF/A (ISO 19005-3 6.6.2.3.2) wants the two to agree, so Info says exactly the same."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata.model import VENDOR

    try:
        info_ref = writer.trailer.raw_get("/Info")
    except KeyError:
        return
    info = info_ref.get_object()
    info["/Producer"] = generic.TextStringObject(VENDOR)
    writer.mark_update(info_ref)


def _sign(pdf: bytes, sealer: Sealer, words: SealWords, *, timestamped: bool) -> SealedPdf:
    _import_pyhanko()
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator import ValidationContext

    identity = sealer.identity
    roots = [c for pem in identity.chain_pem for c in load_certs_from_pemder_data(pem)]
    tsa_roots = [c for pem in sealer.tsa_roots_pem for c in load_certs_from_pemder_data(pem)]
    embed = timestamped and bool(roots or identity.chain_pem)
    context = ValidationContext(
        trust_roots=[*roots, *tsa_roots] or None, allow_fetching=False, revocation_mode="soft-fail"
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        reason=words.reason,
        location=words.location,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        embed_validation_info=embed,
        validation_context=context if embed else None,
        # Not B-LTA: Poppler's pdfsig cannot validate a document timestamp (it reports
        # "Unable to validate this type of signature"), and readers must see a valid seal.
        use_pades_lta=False,
    )
    timestamper = _timestamper(sealer.tsa_urls, sealer.tsa_timeout) if timestamped else None
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    _same_producer_in_info_and_xmp(writer)
    out = io.BytesIO()
    signer = signers.PdfSigner(meta, signer=_pyhanko_signer(identity), timestamper=timestamper)
    _outside_any_event_loop(lambda: signer.sign_pdf(writer, output=out))
    level = (B_LT if embed else B_T) if timestamped else B_B
    return SealedPdf(out.getvalue(), level)


def _outside_any_event_loop(call: Callable[[], object]) -> None:
    """Run ``call`` (pyHanko's sign_pdf, which calls asyncio.run) where no event loop runs:
    in this thread when none does, else in a thread of its own (a caller inside an event
    loop, such as a Playwright session in the tests, would make asyncio.run refuse)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        call()
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(call).result()
