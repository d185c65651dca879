"""Issue 21, point 3: only the requested uses appear anywhere the patient reads the form.

A request asks about three of the six uses, in an order of its own. The tablet's reading pages,
the printed form and the receipt PDF name exactly those three, in that order, and none of the
three others; the receipt binds the text as shown, and the audit renders it again and agrees.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from consent.db import db
from consent.errors import IntegrityFailure
from consent.forms.binding import check_binding
from consent.forms.catalogue import render_text
from consent.forms.models import FormVersion
from consent.records.envelope import receipt_envelope
from consent.web.context import runtime
from consent.workflows.audit import audit
from tests.factories import Flow, api_key, csrf, photo, tablet_consent
from tests.pdf.readback import pdf_text

ASKED = ["journal_publication", "teaching", "survey"]  # not the catalogue's order
NOT_ASKED = ["care_record", "professional_network", "public_social_network"]
CHOICES = {"journal_publication": True, "teaching": True, "survey": False}


@pytest.fixture
def flow(app: Flask) -> Flow:
    return Flow(app.test_client(), api_key())


@pytest.fixture
def opened(flow: Flow) -> dict[str, Any]:
    patient = flow.patient()
    media = flow.media(patient, photo(7))
    return flow.open_request(
        patient,
        [media["id"]],
        [{"purpose": purpose} for purpose in ASKED],
        expires_at="2031-01-01T00:00:00Z",
    )


def definition(language: str = "en") -> dict[str, Any]:
    row = db.session.scalar(
        select(FormVersion).filter_by(form_id="media-publication", version=3, language=language)
    )
    assert row is not None
    return dict(json.loads(row.definition))


def paragraphs(purpose: str, language: str = "en") -> list[str]:
    """What the form says about one use only: its paragraphs, its label."""
    block = definition(language)
    said = [
        section["uses"][purpose].removeprefix("- ")
        for section in block["sections"]
        if purpose in section.get("uses", {})
    ]
    return [*said, block["purposes"][purpose]["label"]]


def reading_pages(app: Flask, opened: dict[str, Any]) -> str:
    tablet = app.test_client()
    assert tablet.get(opened["signing_url"].removeprefix("http://consent.test")).status_code == 302
    pages = []
    for number in range(1, 10):
        response = tablet.get(f"/tablet/read/{number}")
        if response.status_code == 404:
            break
        pages.append(html.unescape(response.get_data(as_text=True)))
    check = tablet.get("/tablet/check").get_data(as_text=True)
    # The question about public social media is not asked when that use is not.
    assert "public social media" not in check.lower()
    assert csrf(check)
    return "\n".join(pages)


def test_reading_pages_name_only_the_requested_uses_in_the_request_order(
    app: Flask, opened: dict[str, Any]
) -> None:
    pages = reading_pages(app, opened)
    for purpose in ASKED:
        for said in paragraphs(purpose)[:-1]:  # labels are on the question screens
            assert said in pages, (purpose, said)
    for purpose in NOT_ASKED:
        for said in paragraphs(purpose):
            assert said not in pages, (purpose, said)
    listed = [pages.index(paragraphs(purpose)[0]) for purpose in ASKED]
    assert listed == sorted(listed)


def test_paper_form_and_receipt_name_exactly_the_requested_uses(
    app: Flask, flow: Flow, opened: dict[str, Any]
) -> None:
    form_pdf = flow.client.get(f"/api/v1/requests/{opened['id']}/form.pdf", headers=flow.headers)
    assert form_pdf.status_code == 200
    printed = pdf_text(form_pdf.get_data())
    consent = tablet_consent(
        opened["id"], {"journal_publication": True, "teaching": True, "survey": False}
    )
    receipt_pdf = flow.client.get(
        f"/api/v1/consents/{consent.id}/receipt.pdf", headers=flow.headers
    )
    assert receipt_pdf.status_code == 200
    receipt_text = pdf_text(receipt_pdf.get_data())
    block = definition()
    for purpose in ASKED:
        assert block["purposes"][purpose]["label"] in printed
        assert block["purposes"][purpose]["label"] in receipt_text
        for said in paragraphs(purpose)[:-1]:
            assert " ".join(said.split()) in printed
    for purpose in NOT_ASKED:
        for said in paragraphs(purpose):
            assert " ".join(said.split()) not in printed, (purpose, said)
            assert " ".join(said.split()) not in receipt_text, (purpose, said)

    # The receipt verifies, binds the text as shown, and says how to render it again.
    signed = receipt_envelope(consent, runtime().keyring)["receipt"]
    shown = render_text(definition(), {}, ASKED)
    assert signed["form"]["purposes"] == ASKED == [use["purpose"] for use in signed["uses"]]
    assert signed["form"]["sha256"] == hashlib.sha256(shown.encode()).hexdigest()
    for purpose in NOT_ASKED:
        assert block["purposes"][purpose]["label"] not in shown
    # The printed sheet carries the same hash in its footer.
    assert signed["form"]["sha256"] in printed.replace(" ", "")
    assert audit(db.session, runtime().keyring).ok


def test_receipt_with_swapped_form_uses_fails(flow: Flow, opened: dict[str, Any]) -> None:
    consent = tablet_consent(
        opened["id"], {"journal_publication": True, "teaching": True, "survey": False}
    )
    bound = json.loads(consent.receipt)["form"]
    row = db.session.scalar(
        select(FormVersion).filter_by(form_id="media-publication", version=3, language="en")
    )
    assert row is not None
    check_binding(row, bound)
    for tampered in (
        {**bound, "purposes": ["teaching", "journal_publication", "survey"]},
        {**bound, "purposes": [*ASKED, "public_social_network"]},
        {key: value for key, value in bound.items() if key not in ("purposes", "version_sha256")},
        {**bound, "version_sha256": hashlib.sha256(b"another text").hexdigest()},
    ):
        with pytest.raises(IntegrityFailure):
            check_binding(row, copy.deepcopy(tampered))
