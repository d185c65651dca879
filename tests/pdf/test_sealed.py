"""Receipt PDFs sealed (PAdES) as a court expert would check them: Poppler's pdfsig and pyHanko's
validator accept every seal, a changed byte breaks it, the PDF/A-3b claim and the proof files
survive the seal, the reason is in the patient's language, and the blank form carries none."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from consent.db import db
from consent.web.context import runtime
from tests.factories import Flow
from tests.pdf.readback import attachments, pdf_text, pdfa_claim
from tests.pdf.signatures import pdfsig, pyhanko_statuses
from tests.pdf.test_documents import decided, open_request, receipt_pdf, withdrawn_partly

PROOF_FILES = {"receipt.json", "receipt.tlog-proof", "consent-keys.json", "consent-keys.vkey"}


def trust(*extra: bytes) -> list[bytes]:
    """The roots a reader would be told to trust: the (throw-away) CA of the seal, and more."""
    sealer = runtime().sealer
    assert sealer is not None, "the test instance has a document-signing certificate"
    return [*sealer.identity.chain_pem, *extra]


def seal_fields(pdf: bytes) -> dict[str, str]:
    reader = PdfReader(io.BytesIO(pdf))
    fields = reader.get_fields() or {}
    value = fields["ConsentServiceSeal"]["/V"].get_object()
    return {"reason": str(value["/Reason"]), "location": str(value["/Location"])}


def assert_sealed(pdf: bytes, *, roots: list[bytes], timestamped: bool) -> None:
    checked = pdfsig(pdf)
    assert checked.valid, checked.out
    assert "THROW-AWAY DEMO receipts of" in checked.out  # the reader names the demo cert so
    statuses = pyhanko_statuses(pdf, trust_pems=roots)
    status = statuses[0]
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.bottom_line
    if timestamped:
        assert status.timestamp_validity is not None
        assert status.timestamp_validity.intact and status.timestamp_validity.valid
        assert status.timestamp_validity.trusted
        # B-LT: the validation data is a revision after the seal, which pyHanko accepts as
        # such (and nothing else).
        assert status.modification_level.name == "LTA_UPDATES"
    else:
        assert "Total document signed" in checked.out
    assert len(statuses) == 1
    # Still PDF/A-3b with every proof file as an associated file, after the incremental seal.
    assert pdfa_claim(pdf)["part"] == "3" and pdfa_claim(pdf)["conformance"] == "B"
    assert PdfReader(io.BytesIO(pdf)).pdf_header == "%PDF-1.7"


def one_byte_changed(pdf: bytes) -> bytes:
    """One byte of the first page's content stream changed: inside the signed byte range, and
    the file still parses (same length, same offsets)."""
    at = pdf.index(b"stream\n") + len(b"stream\n") + 10
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


def test_receipt_pdf_is_sealed_b_lt_and_both_validators_accept_it(
    flow: Flow, timestamping: Any
) -> None:
    consent = decided(flow)
    pdf = receipt_pdf(flow, consent["consent_id"])
    assert_sealed(pdf, roots=trust(timestamping.ca_pem), timestamped=True)
    assert set(attachments(pdf)) == PROOF_FILES
    assert pdfa_claim(pdf)["associated_files"] == "4 of 4"
    assert "Your consent receipt" in pdf_text(pdf)
    assert b"/DSS" in pdf  # B-LT: the certificates of the seal and its timestamp are embedded
    words = seal_fields(pdf)
    assert "certifies this consent receipt as issued" in words["reason"]
    assert "consent.test" in words["location"]
    # The same document the second time: the sealed PDF is cached, never sealed again.
    assert receipt_pdf(flow, consent["consent_id"]) == pdf


def test_withdrawal_receipt_pdf_is_sealed_and_validates(flow: Flow, timestamping: Any) -> None:
    given = withdrawn_partly(flow)
    response = flow.client.get(
        f"/api/v1/withdrawals/{given['withdrawal']['withdrawal_id']}/withdrawal-receipt.pdf",
        headers=flow.headers,
    )
    assert response.status_code == 200
    pdf = response.get_data()
    assert_sealed(pdf, roots=trust(timestamping.ca_pem), timestamped=True)
    assert "withdrawal-receipt.json" in attachments(pdf)
    assert "certifies this withdrawal receipt" in seal_fields(pdf)["reason"]


def test_french_receipt_seal_speaks_french(flow: Flow) -> None:
    opened = open_request(flow, language="fr")
    decision = flow.decide(
        opened["id"],
        {"teaching": True, "public_social_network": False, "journal_publication": True},
    )
    pdf = receipt_pdf(flow, decision["consent_id"])
    words = seal_fields(pdf)
    assert "certifie ce reçu de consentement" in words["reason"], words
    assert "Service de consentement" in words["location"], words
    assert_sealed(pdf, roots=trust(), timestamped=False)


def test_receipt_changed_by_one_byte_after_sealing_fails_both_validators(flow: Flow) -> None:
    consent = decided(flow)
    pdf = receipt_pdf(flow, consent["consent_id"])
    tampered = one_byte_changed(pdf)
    assert len(tampered) == len(pdf) and tampered != pdf
    checked = pdfsig(tampered)
    assert not checked.valid and "Digest Mismatch" in checked.out, checked.out
    (status,) = pyhanko_statuses(tampered, trust_pems=trust())
    assert not status.intact and not status.bottom_line


def swapped_attachment(pdf: bytes) -> bytes:
    """A real incremental update after the seal that replaces an attached file's content."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = names[1].get_object()
    spec["/EF"]["/F"] = writer.add_object(generic.StreamObject({}, stream_data=b'{"forged": true}'))
    writer.update_container(spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_receipt_with_an_attachment_swapped_after_sealing_fails_pyhanko(
    flow: Flow, timestamping: Any
) -> None:
    """An update appended after the seal leaves the sealed bytes intact. pyHanko compares
    the revisions and refuses anything but validation data; Poppler's pdfsig only says "Not
    total document signed", as it does for the genuine B-LT file (docs/evidence.md)."""
    consent = decided(flow)
    pdf = receipt_pdf(flow, consent["consent_id"])
    forged = swapped_attachment(pdf)
    assert b'{"forged": true}' in forged
    (status,) = pyhanko_statuses(forged, trust_pems=trust(timestamping.ca_pem))
    assert status.intact and not status.bottom_line
    assert status.modification_level.name == "OTHER"
    assert "Not total document signed" in pdfsig(forged).out


def test_blank_form_is_not_sealed(app: Flask, flow: Flow) -> None:
    opened = open_request(flow)
    response = flow.client.get(f"/api/v1/requests/{opened['id']}/form.pdf", headers=flow.headers)
    assert response.status_code == 200
    assert b"/ByteRange" not in response.get_data()
    assert "does not contain any signatures" in pdfsig(response.get_data()).out


def test_authority_down_seals_without_timestamp_and_seals_again_later(
    flow: Flow, timestamping: Any
) -> None:
    consent = decided(flow)
    timestamping.down = True
    first = receipt_pdf(flow, consent["consent_id"])
    assert_sealed(first, roots=trust(), timestamped=False)
    (status,) = pyhanko_statuses(first, trust_pems=trust())
    assert status.timestamp_validity is None  # B-B: no signature timestamp
    timestamping.down = False
    second = receipt_pdf(flow, consent["consent_id"])
    assert second != first  # not cached: sealed again, now with its timestamp
    assert_sealed(second, roots=trust(timestamping.ca_pem), timestamped=True)


def test_receipts_are_not_sealed_without_a_certificate(
    app: Flask, flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from consent.web.context import EXTENSION

    monkeypatch.setitem(app.extensions, EXTENSION, dataclasses.replace(runtime(), sealer=None))
    consent = decided(flow)
    pdf = receipt_pdf(flow, consent["consent_id"])
    assert b"/ByteRange" not in pdf and set(attachments(pdf)) == PROOF_FILES
    db.session.rollback()
