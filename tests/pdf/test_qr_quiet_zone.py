"""Every QR code of a receipt and of a blank form keeps its quiet zone on the printed page
(issue 21: the "To check your consent" code was pushed against its box by a long address).

Each page is rendered by Poppler, each code found by zbar; around each code, a band four
modules wide (ISO/IEC 18004's quiet zone) must hold no dark pixel: no box edge, no text.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode

from tests.factories import Flow
from tests.pdf.readback import page_images
from tests.pdf.test_documents import open_request, receipt_pdf

DARK = 128


def dark_pixels_around(image: Image.Image, symbol: Any) -> int:
    """Dark pixels in the quiet zone band around a decoded symbol."""
    gray = image.convert("L")
    rect = symbol.rect
    xs = [p.x for p in symbol.polygon]
    # The module size from the symbol's width: the codes here are at most version 4 (33
    # modules a side), so a module is at least width / 33.
    module = (max(xs) - min(xs)) / 33
    band = int(4 * module)
    left, top = rect.left - band, rect.top - band
    right, bottom = rect.left + rect.width + band, rect.top + rect.height + band
    assert left >= 0 and top >= 0 and right <= gray.width and bottom <= gray.height
    count = 0
    pixels = gray.load()
    for x in range(left, right):
        for y in range(top, bottom):
            inside = (
                rect.left - 1 <= x <= rect.left + rect.width
                and rect.top - 1 <= y <= rect.top + rect.height
            )
            if not inside and pixels[x, y] < DARK:
                count += 1
    return count


def assert_quiet_zones(pdf: bytes) -> int:
    found = 0
    for number, image in enumerate(page_images(pdf, dpi=100), start=1):
        for symbol in decode(image, symbols=[ZBarSymbol.QRCODE]):
            found += 1
            assert dark_pixels_around(image, symbol) == 0, (number, symbol.data)
    return found


@pytest.mark.parametrize("language", ["en", "fr"])
def test_receipt_qr_codes_keep_their_quiet_zone(app: Flask, flow: Flow, language: str) -> None:
    opened = open_request(flow, language=language)
    decision = flow.decide(
        opened["id"],
        {"teaching": True, "public_social_network": False, "journal_publication": True},
    )
    pdf = receipt_pdf(flow, decision["consent_id"])
    assert assert_quiet_zones(pdf) == 2


def test_blank_form_qr_code_keeps_its_quiet_zone(app: Flask, flow: Flow) -> None:
    opened = open_request(flow)
    response = flow.client.get(f"/api/v1/requests/{opened['id']}/form.pdf", headers=flow.headers)
    assert response.status_code == 200
    assert assert_quiet_zones(response.get_data()) == 1
