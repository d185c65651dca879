"""Validating a PDF's signatures as a reader would: Poppler's pdfsig (Debian's poppler-utils),
and pyHanko's own validator against given trust roots, offline."""

from __future__ import annotations

import io
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Pdfsig:
    returncode: int
    out: str

    @property
    def valid(self) -> bool:
        return self.returncode == 0 and "Signature Validation: Signature is Valid." in self.out


def pdfsig(pdf: bytes) -> Pdfsig:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "document.pdf"
        path.write_bytes(pdf)
        done = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    return Pdfsig(done.returncode, done.stdout + done.stderr)


def pyhanko_statuses(pdf: bytes, *, trust_pems: list[bytes]) -> list[Any]:
    """pyHanko's status of every signature (a document timestamp's too, should one appear),
    trusting only ``trust_pems``, fetching nothing."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DSA is deprecated")
        from pyhanko.keys import load_certs_from_pemder_data
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
        from pyhanko_certvalidator import ValidationContext

    roots = [cert for pem in trust_pems for cert in load_certs_from_pemder_data(pem)]
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    statuses = []
    for signature in reader.embedded_signatures:
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        if signature.sig_object_type == "/DocTimeStamp":
            statuses.append(validate_pdf_timestamp(signature, validation_context=context))
            continue
        statuses.append(
            validate_pdf_signature(
                signature, signer_validation_context=context, ts_validation_context=context
            )
        )
    return statuses
