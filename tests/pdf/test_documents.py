"""The printed documents, read back as a patient, a clinician's phone or an expert would: the
words on the page, every QR code decoded from the rendered page and followed, the embedded
proof files verified offline, the fonts embedded, nothing fetched, and the cache."""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from consent.accounts.scope import EVERY_TEAM
from consent.cli.verify_tool import main as consent_verify
from consent.db import db
from consent.documents import render as render_module
from consent.forms.catalogue import render_text
from consent.forms.models import FormVersion
from consent.web.context import runtime
from tests.factories import (
    Flow,
    api_key,
    auth,
    consent_of,
    jpeg,
    photo,
    tablet_answers,
)
from tests.pdf.readback import (
    attachments,
    embedded_images,
    fonts,
    page_count,
    pdf_text,
    pdfa_claim,
    qr_codes,
)

PUBLIC = "http://consent.test"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery staple"
USES = [
    {"purpose": "teaching"},
    {"purpose": "public_social_network", "channels": ["linkedin"]},
    {"purpose": "journal_publication"},
]


def logged_in(app: Flask, doctor: dict[str, Any]) -> FlaskClient:
    client = app.test_client()
    page = client.get("/clinician/login").get_data(as_text=True)
    token = CSRF.search(page)
    assert token
    response = client.post(
        "/clinician/login",
        data={"csrf_token": token.group(1), "email": doctor["email"], "password": PASSWORD},
    )
    assert response.status_code == 302
    return client


def photo_with_metadata(seed: int) -> bytes:
    """A landscape JPEG whose EXIF says "rotate 90 degrees" and names the patient."""
    image = Image.open(io.BytesIO(photo(seed, size=(640, 400))))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; upright it is portrait
    exif[0x010E] = "Jeanne Martin, MRN-0042"  # ImageDescription
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def open_request(flow: Flow, language: str = "en", seed: int = 0) -> dict[str, Any]:
    """A request with two photos; another ``seed`` for another patient's photos (a team holds
    a file once: the same photo for another patient is a 409)."""
    patient = flow.patient()
    first = flow.media(patient, photo_with_metadata(1 + seed))
    second = flow.media(patient, photo(2 + seed))
    request_id = flow.request(
        patient,
        [first["id"], second["id"]],
        USES,
        language=language,
        expires_at="2031-06-30T00:00:00Z",
    )
    return {"id": request_id, "patient": patient, "media": [first, second]}


def local(url: str) -> str:
    """The path of an address printed with the service's public URL."""
    assert url.startswith(PUBLIC + "/"), url
    return url[len(PUBLIC) :]


# -- the blank form ----------------------------------------------------------------------------


def test_blank_form_reads_back_and_its_qr_code_opens_the_paper_upload_page(
    app: Flask, flow: Flow, doctor: dict[str, Any]
) -> None:
    opened = open_request(flow)
    response = flow.client.get(f"/api/v1/requests/{opened['id']}/form.pdf", headers=flow.headers)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF-")

    text = pdf_text(pdf)
    form = (
        db.session.query(FormVersion)
        .filter_by(form_id="media-publication", version=3, language="en")
        .one()
    )
    definition = json.loads(form.definition)
    assert definition["title"] in text
    for section in definition["sections"]:
        assert section["heading"] in text
    # Issue 21: the form text names the three requested uses, in the request's order, and
    # none of the three others.
    asked = [use["purpose"] for use in USES]
    assert len(asked) == 3
    for section in definition["sections"]:
        for purpose, paragraph in section.get("uses", {}).items():
            shown = " ".join(paragraph.removeprefix("- ").split())
            assert (shown in text) == (purpose in asked), (purpose, shown)
    for purpose in ("care_record", "professional_network", "survey"):
        assert definition["purposes"][purpose]["label"] not in text
    assert "anyone in the whole world can see a post" in text.lower()  # the form's own text
    for purpose in ("teaching", "public_social_network", "journal_publication"):
        assert definition["purposes"][purpose]["label"] in text
        assert definition["purposes"][purpose]["explanation"] in text
    assert definition["purposes"]["survey"]["label"] not in text  # not asked
    # One row of boxes per use: yes, no. No face is boxed on this photo, so no third box "yes,
    # only with my face hidden" (issue 19; tests/media/test_faces.py prints one with a face).
    assert text.count("Yes No") == 3 and "face hidden" not in text
    assert "Only on: linkedin" in text
    assert "Your consent ends on 30 June 2031." in text
    assert "Image 1 of 2" in text and "Image 2 of 2" in text
    assert "Dr Fiona" in text
    assert "Jeanne" not in text  # neither the identity nor the photo's EXIF description
    # Every page carries the form's id, version, language and text hash, and the request.
    pages = page_count(pdf)
    # The hash of the text as shown for these uses, the one the receipt will bind.
    shown = render_text(definition, {}, asked)
    assert "Health study" not in shown and "Teaching: " in shown
    # In the request's order (the sheet's two columns may split a list when read back).
    listed = next(section for section in definition["sections"] if section["key"] == "uses")
    items = [shown.index(listed["uses"][purpose]) for purpose in asked]
    assert items == sorted(items)
    footer = (
        "Form media-publication, version 3, language en. SHA-256 of its text: "
        + hashlib.sha256(shown.encode()).hexdigest()
    )
    assert text.count(footer) == pages
    assert text.count(f"Consent request {opened['id']}") == pages

    codes = qr_codes(pdf)
    assert codes[0] == [f"{PUBLIC}/clinician/requests/{opened['id']}/paper"]
    assert all(page == [] for page in codes[1:])
    page = logged_in(app, doctor).get(local(codes[0][0]))
    assert page.status_code == 200
    assert "Record the paper form signed by Jeanne Martin" in page.get_data(as_text=True)


def test_form_thumbnails_are_small_upright_and_carry_no_metadata(flow: Flow) -> None:
    opened = open_request(flow)
    pdf = flow.client.get(
        f"/api/v1/requests/{opened['id']}/form.pdf", headers=flow.headers
    ).get_data()
    images = embedded_images(pdf)
    assert len(images) == 2
    (first_size, first_bytes), (second_size, _) = images
    assert first_size[0] < first_size[1]  # turned upright from the EXIF orientation
    assert max(first_size) <= 600 and max(second_size) <= 600
    assert b"Exif" not in first_bytes
    assert b"MRN-0042" not in pdf and b"Jeanne" not in pdf


def test_french_form_keeps_every_accent_and_embeds_its_fonts(flow: Flow) -> None:
    opened = open_request(flow, language="fr")
    pdf = flow.client.get(
        f"/api/v1/requests/{opened['id']}/form.pdf", headers=flow.headers
    ).get_data()
    text = pdf_text(pdf)
    for phrase in (
        "Vos photos et vidéos : c'est vous qui choisissez",
        "À quoi les images peuvent servir",
        "Où nous gardons les images",
        "représentant légal décide",
        "Revue médicale",
        "30 juin 2031",  # the date in words, in the form's language
    ):
        assert phrase in text
    assert "langue fr" in text  # the interface strings in the form's language too
    used = fonts(pdf)
    assert used and all(used.values()), used
    assert all("Consent-Sans" in name for name in used)  # the shipped DejaVu, not the system's


def test_form_errors_are_clear(app: Flask, flow: Flow) -> None:
    missing = flow.client.get("/api/v1/requests/rq_nope/form.pdf", headers=flow.headers)
    assert missing.status_code == 404 and missing.json["code"] == 404
    opened = open_request(flow)
    path = f"/api/v1/requests/{opened['id']}/form.pdf"
    assert flow.client.get(path).status_code == 401
    verify_only = auth(api_key(("verify",)))
    assert flow.client.get(path, headers=verify_only).status_code == 403
    flow.decide(
        opened["id"],
        {"teaching": True, "public_social_network": False, "journal_publication": False},
    )
    decided = flow.client.get(path, headers=flow.headers)
    assert decided.status_code == 409
    assert "already has a decision" in decided.json["message"]


def test_print_button_on_the_clinician_page_serves_the_same_form(
    app: Flask, flow: Flow, doctor: dict[str, Any]
) -> None:
    opened = open_request(flow)
    assert app.test_client().get(f"/clinician/requests/{opened['id']}/form.pdf").status_code == 302
    clinician = logged_in(app, doctor)
    page = clinician.get(f"/clinician/requests/{opened['id']}").get_data(as_text=True)
    link = re.search(
        r'<a class="button" href="([^"]+)"[^>]*>Print the paper form \(PDF\)</a>', page
    )
    assert link, "a real link with its text, reachable by keyboard"
    printed = clinician.get(link.group(1))
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    api = flow.client.get(f"/api/v1/requests/{opened['id']}/form.pdf", headers=flow.headers)
    assert printed.get_data() == api.get_data()
    assert clinician.get("/clinician/requests/rq_nope/form.pdf").status_code == 404


# -- the receipt --------------------------------------------------------------------------------


def decided(flow: Flow, seed: int = 0) -> dict[str, Any]:
    opened = open_request(flow, seed=seed)
    decision = flow.decide(
        opened["id"],
        {"teaching": True, "public_social_network": False, "journal_publication": True},
    )
    return {**opened, "consent_id": decision["consent_id"], "envelope": decision["receipt"]}


def receipt_pdf(flow: Flow, consent_id: str) -> bytes:
    response = flow.client.get(f"/api/v1/consents/{consent_id}/receipt.pdf", headers=flow.headers)
    assert response.status_code == 200, response.get_data()[:500]
    assert response.mimetype == "application/pdf"
    return response.get_data()


def test_receipt_says_what_was_agreed_and_its_qr_codes_lead_to_the_right_pages(
    app: Flask, flow: Flow
) -> None:
    consent = decided(flow)
    pdf = receipt_pdf(flow, consent["consent_id"])
    text = pdf_text(pdf)
    assert "Your consent receipt" in text
    assert "Yes, you allow it: Teaching" in text
    assert "No, you refused: Public social media" in text
    assert "Yes, you allow it: Medical journal" in text
    assert "Your consent ends on 30 June 2031." in text
    assert "Image 1 of 2" in text
    code = re.search(r"\b([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})\b", text)
    assert code, "the withdrawal code is printed"
    assert "Jeanne" not in text

    codes = [url for page in qr_codes(pdf) for url in page]
    verify_url = f"{PUBLIC}/v/{consent['consent_id']}"
    withdraw_url = f"{PUBLIC}/withdraw#code={code.group(1)}"
    assert sorted(codes) == sorted([verify_url, withdraw_url])
    public = app.test_client().get(local(verify_url))
    assert public.status_code == 200
    page = public.get_data(as_text=True)
    assert "What this consent allows" in page and consent["consent_id"] in page
    # The withdrawal QR code: the code rides in the fragment (no server log sees it), the page
    # it opens takes the code, and that code opens this very consent.
    from consent.consents.decisions import get_consent, withdrawal_code

    assert withdrawal_code(
        db.session,
        runtime().vault,
        get_consent(db.session, consent["consent_id"], scope=EVERY_TEAM),
    ) == code.group(1)
    path, fragment = local(withdraw_url).split("#", 1)
    patient = app.test_client()
    page = patient.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="code"' in html and "withdraw-code.js" in html
    typed = fragment.removeprefix("code=")
    opened = patient.post(path, data={"csrf_token": CSRF.search(html).group(1), "code": typed})
    assert opened.status_code == 302 and opened.location.endswith("/withdraw/consent")
    shown = patient.get("/withdraw/consent").get_data(as_text=True)
    assert "Teaching" in shown and "Medical journal" in shown
    assert f"/withdraw/media/{consent['media'][0]['id']}" in shown


def withdrawn_partly(flow: Flow) -> dict[str, Any]:
    consent = decided(flow)
    response = flow.client.post(
        f"/api/v1/consents/{consent['consent_id']}/withdrawal",
        json={"purposes": ["teaching"]},
        headers=flow.headers,
    )
    assert response.status_code == 201, response.json
    return {**consent, "withdrawal": response.json}


def test_withdrawal_receipt_says_what_was_withdrawn_and_what_remains(
    app: Flask, flow: Flow, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = withdrawn_partly(flow)
    withdrawal_id = given["withdrawal"]["withdrawal_id"]
    response = flow.client.get(
        f"/api/v1/withdrawals/{withdrawal_id}/withdrawal-receipt.pdf", headers=flow.headers
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.get_data()
    text = pdf_text(pdf)
    assert "Your withdrawal receipt" in text
    assert "No longer allowed: Teaching" in text
    assert "Still allowed: Medical journal" in text
    assert "Public social media" not in text  # refused at signing: neither withdrawn nor left
    log_index = given["withdrawal"]["receipt"]["receipt"]["log_index"]
    assert f"Withdrawal {withdrawal_id}, entry {log_index} of the log" in text
    assert "Jeanne" not in text
    assert [url for page in qr_codes(pdf) for url in page] == [f"{PUBLIC}/v/{given['consent_id']}"]
    files = attachments(pdf)
    assert json.loads(files["withdrawal-receipt.json"]) == given["withdrawal"]["receipt"]
    assert pdfa_claim(pdf)["part"] == "3"
    # A later withdrawal of the rest does not change what this receipt says remained.
    flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal", json={}, headers=flow.headers
    )
    again = flow.client.get(
        f"/api/v1/withdrawals/{withdrawal_id}/withdrawal-receipt.pdf", headers=flow.headers
    )
    assert again.get_data() == pdf


def test_withdrawal_receipt_errors_are_clear(flow: Flow) -> None:
    path = "/api/v1/withdrawals/wd_nope/withdrawal-receipt.pdf"
    missing = flow.client.get(path, headers=flow.headers)
    assert missing.status_code == 404 and missing.is_json
    given = withdrawn_partly(flow)
    path = f"/api/v1/withdrawals/{given['withdrawal']['withdrawal_id']}/withdrawal-receipt.pdf"
    assert flow.client.get(path).status_code == 401
    assert flow.client.get(path, headers=auth(api_key(("verify",)))).status_code == 403


def test_the_patient_downloads_the_same_withdrawal_receipt_from_the_done_page(
    app: Flask, flow: Flow
) -> None:
    consent = decided(flow)
    code = flow.client.get(
        f"/api/v1/consents/{consent['consent_id']}/receipt", headers=flow.headers
    )
    assert code.status_code == 200
    from consent.consents.decisions import get_consent, withdrawal_code

    patient = app.test_client()
    page = patient.get("/withdraw").get_data(as_text=True)
    patient.post(
        "/withdraw",
        data={
            "csrf_token": CSRF.search(page).group(1),
            "code": withdrawal_code(
                db.session,
                runtime().vault,
                get_consent(db.session, consent["consent_id"], scope=EVERY_TEAM),
            ),
        },
    )
    page = patient.get("/withdraw/consent").get_data(as_text=True)
    patient.post(
        "/withdraw/consent", data={"csrf_token": CSRF.search(page).group(1), "scope": "all"}
    )
    page = patient.get("/withdraw/confirm").get_data(as_text=True)
    patient.post("/withdraw/confirm", data={"csrf_token": CSRF.search(page).group(1)})
    done = patient.get("/withdraw/done").get_data(as_text=True)
    withdrawal_id = re.search(r"Withdrawal (wd_[0-9a-f]+)", done).group(1)
    mine = patient.get("/withdraw/withdrawal-receipt.pdf").get_data()
    text = pdf_text(mine)
    assert "You withdrew it yourself, with your code." in text
    assert "No longer allowed: Teaching" in text and "No longer allowed: Medical journal" in text
    assert "Nothing. Your photos and videos may no longer be used" in text
    api = flow.client.get(
        f"/api/v1/withdrawals/{withdrawal_id}/withdrawal-receipt.pdf", headers=flow.headers
    )
    assert api.get_data() == mine


def test_receipt_is_pdf_a_3b_with_proof_files_that_verify_offline(
    flow: Flow, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    consent = decided(flow)
    pdf = receipt_pdf(flow, consent["consent_id"])
    assert pdfa_claim(pdf) == {
        "part": "3",
        "conformance": "B",
        "output_intent": "/GTS_PDFA1",
        "associated_files": "4 of 4",  # PDF/A-3: every attachment is an associated file
    }
    files = attachments(pdf)
    assert set(files) == {
        "receipt.json",
        "receipt.tlog-proof",
        "consent-keys.json",
        "consent-keys.vkey",
    }
    assert json.loads(files["receipt.json"]) == consent["envelope"]
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    receipt, proof = str(tmp_path / "receipt.json"), str(tmp_path / "receipt.tlog-proof")
    for key in ("consent-keys.json", "consent-keys.vkey"):
        assert consent_verify([receipt, proof, "--key", str(tmp_path / key)]) == 0
        assert consent["consent_id"] in capsys.readouterr().out
    # One changed byte in the attached receipt and the same tool refuses it.
    tampered = json.loads(files["receipt.json"])
    tampered["receipt"]["uses"][1]["granted"] = True
    (tmp_path / "receipt.json").write_text(json.dumps(tampered))
    assert consent_verify([receipt, proof, "--key", str(tmp_path / "consent-keys.vkey")]) == 1


def test_receipt_errors_are_clear(flow: Flow) -> None:
    missing = flow.client.get("/api/v1/consents/cs_nope/receipt.pdf", headers=flow.headers)
    assert missing.status_code == 404 and missing.is_json
    consent = decided(flow)
    path = f"/api/v1/consents/{consent['consent_id']}/receipt.pdf"
    assert flow.client.get(path).status_code == 401
    assert flow.client.get(path, headers=auth(api_key(("verify",)))).status_code == 403


def test_tablet_done_page_offers_the_receipt_to_the_browser_that_signed(
    app: Flask, flow: Flow, doctor: dict[str, Any]
) -> None:
    from tests.pages.test_tablet_flow import csrf, strokes

    patient = flow.patient()
    media = flow.media(patient, photo(3))
    created = flow.open_request(
        patient, [media["id"]], [{"purpose": "teaching"}], expires_at="2031-01-01T00:00:00Z"
    )
    tablet = app.test_client()
    tablet.get(local(created["signing_url"]))
    check = tablet.get("/tablet/check").get_data(as_text=True)
    from tests.factories import comprehension_answers

    tablet.post("/tablet/check", data={"csrf_token": csrf(check), **comprehension_answers()})
    tablet_answers(tablet, {"teaching": "yes"})
    who = tablet.get("/tablet/who").get_data(as_text=True)
    tablet.post("/tablet/who", data={"csrf_token": csrf(who), "role": "patient"})
    sign = tablet.get("/tablet/sign").get_data(as_text=True)
    tablet.post("/tablet/sign", data={"csrf_token": csrf(sign), "signature": strokes()})
    assert tablet.get("/tablet/receipt.pdf").status_code == 404  # not confirmed yet

    clinician = logged_in(app, doctor)
    page = clinician.get(f"/clinician/requests/{created['id']}").get_data(as_text=True)
    clinician.post(f"/clinician/requests/{created['id']}/confirm", data={"csrf_token": csrf(page)})

    done = tablet.get("/tablet/done").get_data(as_text=True)
    # Nothing is saved on the hospital's tablet unless the patient asks: the receipt opens in the
    # tablet's viewer from a secondary button, inline, never as a download (issue 21).
    link = re.search(r'<a class="button" href="([^"]+)"[^>]*>Show my receipt on this tablet', done)
    assert link and " download" not in done
    response = tablet.get(link.group(1))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")
    consent_id = consent_of(created["id"])
    assert response.get_data() == receipt_pdf(flow, consent_id)
    assert "Yes, you allow it: Teaching" in pdf_text(response.get_data())
    # Another browser, without the signing session, gets nothing.
    assert app.test_client().get("/tablet/receipt.pdf").status_code == 404


# -- cache and offline rendering ----------------------------------------------------------------


def count_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = render_module.html_to_pdf

    def counting(html: str, **kwargs: Any) -> bytes:
        calls.append(html)
        return real(html, **kwargs)

    monkeypatch.setattr(render_module, "html_to_pdf", counting)
    return calls


def test_second_request_for_the_same_document_is_not_rendered_again(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_renders(monkeypatch)
    opened = open_request(flow)
    path = f"/api/v1/requests/{opened['id']}/form.pdf"
    first = flow.client.get(path, headers=flow.headers).get_data()
    second = flow.client.get(path, headers=flow.headers).get_data()
    assert first == second and len(calls) == 1
    other = open_request(flow, seed=10)  # other content: another document, rendered
    third = flow.client.get(f"/api/v1/requests/{other['id']}/form.pdf", headers=flow.headers)
    assert len(calls) == 2 and third.get_data() != first


def test_receipt_is_the_receipt_as_issued_and_today_is_on_the_public_page(
    app: Flask, flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    consent = decided(flow)
    calls = count_renders(monkeypatch)
    before = receipt_pdf(flow, consent["consent_id"])
    response = flow.client.post(
        f"/api/v1/consents/{consent['consent_id']}/withdrawal", json={}, headers=flow.headers
    )
    assert response.status_code == 201
    # Another consent appended to the log does not change this receipt's proof either.
    decided(flow, seed=10)
    after = receipt_pdf(flow, consent["consent_id"])
    assert after == before and len(calls) == 1
    page = app.test_client().get(f"/v/{consent['consent_id']}").get_data(as_text=True)
    assert "Withdrawn" in page


def test_rendering_never_touches_the_network(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access while rendering: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    html = """<html><head><style>
      @import url("https://fonts.example.com/style.css");
      @font-face { font-family: Remote; src: url("http://fonts.example.com/remote.ttf"); }
      body { background: url("http://tracker.example.com/pixel.png"); font-family: Remote; }
    </style></head><body><p>Hello</p>
      <img src="https://cdn.example.com/photo.jpg"><img src="file:///etc/passwd">
    </body></html>"""
    with caplog.at_level("WARNING", logger="consent.documents.fetcher"):
        pdf = render_module.html_to_pdf(html)
    assert "Hello" in pdf_text(pdf)
    refused = " ".join(record.getMessage() for record in caplog.records)
    for url in (
        "https://fonts.example.com/style.css",
        "http://fonts.example.com/remote.ttf",
        "http://tracker.example.com/pixel.png",
        "https://cdn.example.com/photo.jpg",
        "file:///etc/passwd",
    ):
        assert url in refused


def test_render_cache_keeps_within_its_byte_budget() -> None:
    from consent.documents.cache import RenderCache

    cache = RenderCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # a is now the most recently used
    cache.put("c", b"90ab")
    assert cache.get("b") is None and cache.get("a") == b"1234" and cache.get("c") == b"90ab"
    cache.put("huge", b"x" * 11)
    assert cache.get("huge") is None and cache.size_bytes <= 10


def test_video_items_get_a_neutral_placeholder() -> None:
    from consent.documents.render import _thumbnail
    from consent.documents.thumbnails import PLACEHOLDER_URI, MediaRef

    ref = MediaRef("md_" + "0" * 32, "0" * 64, "video/mp4")
    assert _thumbnail(ref, 10_000_000) == {
        "src": PLACEHOLDER_URI,
        "video": True,
        "erased": False,
        "face": False,
        "shared": False,
    }


def test_thumbnail_of_a_plain_jpeg_is_a_fresh_jpeg() -> None:
    from consent.documents.thumbnails import thumbnail_jpeg

    source = jpeg(Image.new("RGB", (2000, 1000), (200, 10, 10)))
    made = thumbnail_jpeg(source, max_pixels=10_000_000)
    with Image.open(io.BytesIO(made)) as image:
        assert image.size == (600, 300) and not image.getexif()


def test_after_a_render_a_truncated_upload_is_still_refused(flow: Flow) -> None:
    # WeasyPrint switches Pillow to accept truncated images for the whole process.
    opened = open_request(flow)
    flow.client.get(f"/api/v1/requests/{opened['id']}/form.pdf", headers=flow.headers)
    response = flow.client.post(
        "/api/v1/media",
        data={
            "patient_id": opened["patient"],
            "description": "",
            "file": (io.BytesIO(photo(5)[:2000]), "cut.jpg"),
        },
        headers=flow.headers,
    )
    assert response.status_code == 422
