"""Arabic documents (issue 21): the form, the receipt and the withdrawal receipt set right to left
in the embedded Noto Naskh Arabic, read back by pdftotext in logical order, with the withdrawal
code, the addresses and the dates' digits intact and left to right."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from consent.db import db
from consent.documents.fonts import arabic_font_files
from tests.factories import Flow, photo
from tests.pdf.readback import fonts, page_images, pdf_text, qr_codes

PUBLIC = "http://consent.test"
CODE = re.compile(r"\b([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})\b")
# pdftotext marks the direction of each run with embedding controls (RLE, LRE, PDF) and the
# isolates of the document (LRI, RLI, FSI, PDI); a reader sees neither.
CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def plain(pdf: bytes) -> str:
    """The text in logical order, controls dropped and white space folded."""
    return re.sub(r"\s+", " ", CONTROLS.sub("", pdf_text(pdf)).replace("\u00a0", " "))


def words(text: str) -> str:
    """The words and numbers of ``text`` in order, one space apart, punctuation dropped.

    pdftotext (Poppler) rebuilds the logical order of right-to-left lines word by word, but
    attaches a neutral mark at a word's end (":", ".", "،") to the start of the next word
    ("بك :القرار" for "بك: القرار"): the rendered page has it right (tests look at it too), so
    the order of the words is what is compared.
    """
    # Numbers, Arabic words and Latin words apart: pdftotext may drop the space between them.
    return " ".join(re.findall("\\d+|[\u0621-\u064a]+|[^\\W\\d_\u0600-\u06ff]+", text))


def in_order(phrase: str, text: str) -> bool:
    return f" {words(phrase)} " in f" {words(text)} "


def keep(name: str, pdf: bytes) -> None:
    """Leave the document for a person to look at when TEST_PDF_OUT names a folder."""
    folder = os.environ.get("TEST_PDF_OUT")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(pdf)


def arabic_request(flow: Flow) -> str:
    patient = flow.patient()
    media = flow.media(patient, photo(7))
    uses = [
        {"purpose": "teaching"},
        {"purpose": "public_social_network", "channels": ["linkedin"]},
        {"purpose": "journal_publication"},
    ]
    return flow.request(
        patient, [media["id"]], uses, language="ar", expires_at="2031-06-30T00:00:00Z"
    )


def assert_arabic_fonts_embedded(pdf: bytes) -> None:
    used = fonts(pdf)
    assert used and all(used.values()), used  # every font program embedded
    # Our own family names (consent/documents/fonts.py): Noto Naskh Arabic and DejaVu Sans.
    assert any("Consent-Arabic" in name for name in used), used
    assert all("Consent-Sans" in name or "Consent-Arabic" in name for name in used), used


def test_the_arabic_font_comes_from_the_system_package() -> None:
    regular, bold = arabic_font_files()
    assert regular.name == "NotoNaskhArabic-Regular.ttf" and bold.name == "NotoNaskhArabic-Bold.ttf"


def test_arabic_form_reads_in_logical_order_with_its_date_and_addresses(flow: Flow) -> None:
    request_id = arabic_request(flow)
    pdf = flow.client.get(f"/api/v1/requests/{request_id}/form.pdf", headers=flow.headers)
    assert pdf.status_code == 200
    keep("form-ar.pdf", pdf.get_data())
    text = plain(pdf.get_data())
    for phrase in (
        "صورك ومقاطع الفيديو الخاصة بك: القرار لك",  # the title, first word first
        "أنت حر في أن تقول لا",
        "وسائل التواصل الاجتماعي العامة",
        "تنتهي موافقتك في 30 يونيو 2031.",  # the date: Arabic month, Latin digits, in order
        # No face is boxed on this photo: yes or no only (issue 19).
        "ضع علامة في مربع واحد لكل استعمال: نعم أو لا.",
    ):
        assert in_order(phrase, text), phrase
    assert in_order("فقط على: linkedin", text)
    # Not merely the same words: the title read backwards is not found.
    assert not in_order("لك القرار بك الخاصة الفيديو ومقاطع صورك", text)
    assert_arabic_fonts_embedded(pdf.get_data())
    # The QR code still decodes from the rendered right-to-left page.
    assert [url for page in qr_codes(pdf.get_data()) for url in page]


def test_arabic_receipt_keeps_the_withdrawal_code_left_to_right(flow: Flow) -> None:
    request_id = arabic_request(flow)
    decision = flow.decide(
        request_id,
        {"teaching": True, "public_social_network": False, "journal_publication": True},
    )
    consent_id = decision["consent_id"]
    response = flow.client.get(f"/api/v1/consents/{consent_id}/receipt.pdf", headers=flow.headers)
    assert response.status_code == 200
    pdf = response.get_data()
    keep("receipt-ar.pdf", pdf)
    text = plain(pdf)
    for phrase in (
        "إيصال موافقتك",
        "نعم، أنت تسمح بها: التعليم",
        "لا، أنت رفضت: وسائل التواصل الاجتماعي العامة",
        "تنتهي موافقتك في 30 يونيو 2031.",
        "احتفظ بهذا الرمز. به يمكنك أن تسحب موافقتك في أي وقت",
    ):
        assert in_order(phrase, text), phrase
    from consent.accounts.scope import EVERY_TEAM
    from consent.consents.decisions import get_consent, withdrawal_code
    from consent.web.context import runtime

    code = withdrawal_code(
        db.session, runtime().vault, get_consent(db.session, consent_id, scope=EVERY_TEAM)
    )
    # The code whole, its groups in their own order (left to right), on one line.
    lines = CONTROLS.sub("", pdf_text(pdf)).splitlines()
    assert any(code in line for line in lines), lines
    assert f"{PUBLIC}/v/{consent_id}" in text
    codes = sorted(url for page in qr_codes(pdf) for url in page)
    assert codes == sorted([f"{PUBLIC}/v/{consent_id}", f"{PUBLIC}/withdraw#code={code}"])
    assert_arabic_fonts_embedded(pdf)
    assert page_images(pdf, dpi=40)  # it renders


def test_arabic_withdrawal_receipt(flow: Flow) -> None:
    request_id = arabic_request(flow)
    decision = flow.decide(
        request_id,
        {"teaching": True, "public_social_network": False, "journal_publication": True},
    )
    response = flow.client.post(
        f"/api/v1/consents/{decision['consent_id']}/withdrawal",
        json={"purposes": ["teaching"]},
        headers=flow.headers,
    )
    assert response.status_code == 201, response.json
    withdrawal: dict[str, Any] = response.json
    path = f"/api/v1/withdrawals/{withdrawal['withdrawal_id']}/withdrawal-receipt.pdf"
    pdf = flow.client.get(path, headers=flow.headers)
    assert pdf.status_code == 200, pdf.status_code
    keep("withdrawal-ar.pdf", pdf.get_data())
    text = plain(pdf.get_data())
    for phrase in ("إيصال السحب الخاص بك", "لم يعد مسموحا: التعليم", "ما زال مسموحا: مجلة طبية"):
        assert in_order(phrase, text), phrase
    assert_arabic_fonts_embedded(pdf.get_data())
