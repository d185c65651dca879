"""The paper form and the receipt PDF show each case text in full, with its SHA-256 (issue 20)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from consent.consents.text_norm import text_sha256
from tests.factories import Flow, api_key, photo
from tests.pdf.readback import pdf_text

TEXT = "Un homme de 54 ans consulte pour une douleur thoracique depuis trois jours."


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key(("consents:write", "verify")))


def _flat(pdf: bytes) -> str:
    return " ".join(pdf_text(pdf).split())


def test_paper_form_and_receipt_show_the_case_text_in_full(flow: Flow) -> None:
    patient = flow.patient()
    media = flow.media(patient, photo(21))
    request_id = flow.request(
        patient, [media["id"]], [{"purpose": "teaching"}], texts=[TEXT], language="fr"
    )
    form = flow.client.get(f"/api/v1/requests/{request_id}/form.pdf", headers=flow.headers)
    assert form.status_code == 200
    words = _flat(form.get_data())
    assert TEXT in words and "Les mots qui seront publiés" in words
    assert text_sha256(TEXT) in words.replace(" ", "")
    decision = flow.decide(request_id, {"teaching": True})
    receipt = flow.client.get(
        f"/api/v1/consents/{decision['consent_id']}/receipt.pdf", headers=flow.headers
    )
    assert receipt.status_code == 200
    assert TEXT in _flat(receipt.get_data())
