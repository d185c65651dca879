"""The paper path over the API: the scan of the signed form and the choices as ticked become a
signed receipt (method paper, the scan's SHA-256) that verify answers from; bad scans and
incomplete choices record nothing; a request gets one decision, on paper or on the tablet."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import func, select

from consent.accounts.models import Account
from consent.consents import signing
from consent.consents.decisions import Signer
from consent.consents.models import Consent, ConsentRequest, PaperScan, SigningLink
from consent.consents.signature import drawn_signature
from consent.crypto.receipts import verify_envelope
from consent.db import db
from consent.web.context import runtime
from consent.workflows.audit import audit
from tests.conftest import LiveSettings
from tests.factories import (
    Flow,
    api_key,
    evidence,
    photo,
    scan_pdf,
    scan_png,
    signature_strokes,
)

USES = [{"purpose": "teaching"}, {"purpose": "public_social_network", "channels": ["linkedin"]}]
TICKED = {"teaching": "granted", "public_social_network": "refused"}


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


@pytest.fixture
def opened(flow: Flow) -> dict[str, Any]:
    patient = flow.patient()
    media = flow.media(patient, photo(11))
    created = flow.open_request(patient, [media["id"]], USES)
    return {"patient": patient, "media": media, **created}


def _store_files() -> set[Path]:
    return {path for path in runtime().files.root.rglob("*") if path.is_file()}


def _nothing_recorded(request_id: str, files_before: set[Path]) -> None:
    assert _store_files() == files_before, "no scan file left in the media store"
    assert db.session.scalar(select(func.count()).select_from(PaperScan)) == 0
    assert db.session.scalar(select(Consent).where(Consent.request_id == request_id)) is None
    assert db.session.get_one(ConsentRequest, request_id).status == "open"


def test_paper_form_becomes_a_signed_receipt_that_verify_answers_from(
    app: Flask, flow: Flow, opened: dict[str, Any]
) -> None:
    pdf = scan_pdf("PaperScanMarker7f3a")
    response = flow.paper(opened["id"], TICKED, pdf)
    assert response.status_code == 201, response.json
    answer = response.json
    body = verify_envelope(
        envelope=answer["receipt"], body_key="receipt", keys=runtime().keyring
    ).body
    assert body["method"] == "paper"
    assert body["paper_scan"] == {
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "media_type": "application/pdf",
    }
    # The receipt names the accounts, not names as typed: the key's clinician informed the
    # patient and entered the form, for the request's team, with this key.
    clinician = body["informed_by"]["clinician"]["account"]
    assert body["recorded_by"]["account"] == body["recorded_by"]["entered_by"] == clinician
    assert isinstance(body["recorded_by"]["api_key"], int)
    assert db.session.get_one(Account, clinician).display_name == "Dr Test"
    assert body["team"] == db.session.get_one(ConsentRequest, opened["id"]).team_id
    assert body["signer"] == {"role": "patient"}
    assert [(use["purpose"], use["granted"]) for use in body["uses"]] == [
        ("teaching", True),
        ("public_social_network", False),
    ]
    assert "Jeanne" not in json.dumps(body)  # the receipt names nobody
    assert len(answer["withdrawal_code"].replace("-", "")) == 20

    sha = opened["media"]["sha256"]
    assert flow.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    refused = flow.verify(sha, "public_social_network", channel="linkedin")
    assert refused["answer"]["decision"] == "not_covered"

    # Staff get the scan back byte for byte; on disk it is encrypted.
    scan = flow.client.get(
        f"/api/v1/consents/{answer['consent_id']}/paper-scan", headers=flow.headers
    )
    assert scan.status_code == 200
    assert scan.mimetype == "application/pdf"
    assert scan.get_data() == pdf
    assert scan.headers["Cache-Control"] == "no-store"
    row = db.session.scalars(select(PaperScan)).one()
    stored = next(path for path in _store_files() if path.name == row.id)
    assert b"PaperScanMarker7f3a" in pdf
    assert b"PaperScanMarker7f3a" not in stored.read_bytes()
    assert pdf[:64] not in stored.read_bytes()

    report = audit(db.session, runtime().keyring)
    assert report.ok, [str(finding) for finding in report.findings]


@pytest.mark.parametrize(
    ("data", "name", "media_type"),
    [
        (photo(12), "scan.jpg", "image/jpeg"),
        (scan_png(), "scan.png", "image/png"),
        # Typed by content, never by name: a JPEG called .pdf is a JPEG.
        (photo(13), "scan.pdf", "image/jpeg"),
    ],
)
def test_image_scans_are_accepted_and_typed_by_content(
    flow: Flow, opened: dict[str, Any], data: bytes, name: str, media_type: str
) -> None:
    response = flow.paper(opened["id"], TICKED, data, name=name)
    assert response.status_code == 201, response.json
    assert response.json["receipt"]["receipt"]["paper_scan"]["media_type"] == media_type
    back = flow.client.get(
        f"/api/v1/consents/{response.json['consent_id']}/paper-scan", headers=flow.headers
    )
    assert back.mimetype == media_type and back.get_data() == data


def _truncated_png() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((400, 400), 60).save(buffer, "PNG")
    return buffer.getvalue()[:-2000]


def _encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _with_comment(data: bytes, comment: bytes) -> bytes:
    return data[:2] + b"\xff\xfe" + len(comment + b"..").to_bytes(2, "big") + comment + data[2:]


def _pdf_with_script() -> bytes:
    # A readable PDF whose title is a page with a script, written as is (pypdf would escape
    # it): the same length, so the cross-reference offsets still hold.
    page = b"<html><script>alert(1)</script>"
    data = scan_pdf("A" * len(page))
    assert data.count(b"A" * len(page)) == 1
    return data.replace(b"A" * len(page), page)


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "GIF")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        (b"Just some text pretending to be a scan.\n" * 20, 415, "PDF, JPEG or PNG"),
        (_gif(), 415, "image/gif"),
        (b"", 415, "not recognised"),
        (scan_pdf()[:-200], 422, "not a readable PDF"),
        (b"%PDF-1.7\n1 0 obj garbage\n%%EOF\n", 422, "not a readable PDF"),
        (_encrypted_pdf(), 422, "password"),
        (_truncated_png(), 422, "damaged or truncated"),
        (photo(14)[: len(photo(14)) // 2], 422, "damaged or truncated"),
        (_with_comment(photo(16), b"<script>alert(1)</script>"), 422, "another kind of file"),
        (_pdf_with_script(), 422, "another kind of file"),
    ],
    ids=[
        "text",
        "gif",
        "empty",
        "cut-pdf",
        "fake-pdf",
        "encrypted-pdf",
        "cut-png",
        "cut-jpeg",
        "jpeg-scan-hiding-a-script",
        "pdf-scan-hiding-a-page",
    ],
)
def test_bad_scan_is_refused_and_nothing_is_stored(
    flow: Flow, opened: dict[str, Any], data: bytes, status: int, says: str
) -> None:
    before = _store_files()
    response = flow.paper(opened["id"], TICKED, data)
    assert response.status_code == status, response.json
    assert says in response.json["message"]
    _nothing_recorded(opened["id"], before)


def test_scan_over_the_size_limit_is_refused(
    app: Flask,
    flow: Flow,
    opened: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    configure: LiveSettings,
) -> None:
    configure["CONSENT_MAX_SCAN_BYTES"] = 1000
    before = _store_files()
    response = flow.paper(opened["id"], TICKED, photo(15))
    assert response.status_code == 413
    _nothing_recorded(opened["id"], before)


def test_decompression_bomb_scan_is_refused(
    app: Flask,
    flow: Flow,
    opened: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    configure: LiveSettings,
) -> None:
    configure["CONSENT_MAX_IMAGE_PIXELS"] = 100 * 100
    before = _store_files()
    response = flow.paper(opened["id"], TICKED, scan_png((2000, 2000)))
    assert response.status_code == 422
    assert "pixels" in response.json["message"]
    _nothing_recorded(opened["id"], before)


def test_every_requested_use_must_be_answered(flow: Flow, opened: dict[str, Any]) -> None:
    before = _store_files()
    partial = flow.paper(opened["id"], {"teaching": "granted"}, scan_pdf())
    assert partial.status_code == 422
    assert "public_social_network" in json.dumps(partial.json["errors"])
    extra = flow.paper(opened["id"], {**TICKED, "survey": "granted"}, scan_pdf())
    assert extra.status_code == 422 and "survey" in json.dumps(extra.json["errors"])
    unreadable = flow.paper(opened["id"], {**TICKED, "teaching": "maybe"}, scan_pdf())
    assert unreadable.status_code == 422
    no_scan = flow.client.post(
        f"/api/v1/requests/{opened['id']}/paper",
        data=TICKED,
        content_type="multipart/form-data",
        headers=flow.headers,
    )
    assert no_scan.status_code == 422 and "scan" in no_scan.json["errors"]["files"]
    _nothing_recorded(opened["id"], before)


def test_a_decided_request_refuses_a_paper_decision(flow: Flow, opened: dict[str, Any]) -> None:
    assert flow.paper(opened["id"], TICKED, scan_pdf()).status_code == 201
    files = _store_files()
    again = flow.paper(opened["id"], TICKED, scan_pdf("ANOTHER"))
    assert again.status_code == 409
    assert _store_files() == files
    assert db.session.scalar(select(func.count()).select_from(PaperScan)) == 1
    # Nor can the API record a second decision, with its evidence or claiming the tablet.
    choices = [
        {"purpose": "teaching", "granted": False},
        {"purpose": "public_social_network", "granted": False},
    ]
    url = f"/api/v1/requests/{opened['id']}/decision"
    decision = flow.client.post(
        url,
        json={
            "signer": {"role": "patient"},
            "method": "external",
            "evidence": evidence(),
            "choices": choices,
        },
        headers=flow.headers,
    )
    assert decision.status_code == 409
    claimed = {"signer": {"role": "patient"}, "method": "tablet", "choices": choices}
    assert flow.client.post(url, json=claimed, headers=flow.headers).status_code == 422


def test_request_decided_through_the_api_refuses_paper(flow: Flow, opened: dict[str, Any]) -> None:
    flow.decide(opened["id"], {"teaching": True, "public_social_network": False})
    before = _store_files()
    response = flow.paper(opened["id"], TICKED, scan_pdf())
    assert response.status_code == 409
    assert _store_files() == before


def test_request_signed_on_the_tablet_refuses_paper(
    app: Flask, flow: Flow, opened: dict[str, Any]
) -> None:
    token = opened["signing_url"].rsplit("/", 1)[1]
    link = signing.open_link(db.session, token, "tablet-browser")
    signing.submit(
        db.session,
        runtime().vault,
        link=link,
        choices={"teaching": True, "public_social_network": True},
        signer=Signer("patient"),
        drawn=drawn_signature(signature_strokes()),
    )
    before = _store_files()
    response = flow.paper(opened["id"], TICKED, scan_pdf())
    assert response.status_code == 409
    assert "tablet" in response.json["message"]
    assert _store_files() == before


def test_paper_decision_spends_the_open_tablet_link(
    app: Flask, flow: Flow, opened: dict[str, Any]
) -> None:
    tablet = app.test_client()
    path = opened["signing_url"][len("http://consent.test") :]
    assert tablet.get(path).status_code == 302  # the patient had started on the tablet
    assert flow.paper(opened["id"], TICKED, scan_pdf()).status_code == 201
    link = db.session.scalars(select(SigningLink)).one()
    assert link.revoked_at is not None
    # The tablet that was mid-way cannot go on, and the link cannot be opened again.
    page = tablet.get("/tablet/choose")
    assert page.status_code == 410 and "on paper" in page.get_data(as_text=True)
    assert app.test_client().get(path).status_code == 410


def test_representative_form_on_paper_needs_the_representative(flow: Flow) -> None:
    patient = flow.patient()
    media = flow.media(patient, photo(16))
    request_id = flow.request(
        patient,
        [media["id"]],
        [{"purpose": "teaching"}],
        form="media-publication-representative",
        language="fr",
    )
    as_patient = flow.paper(request_id, {"teaching": "granted"}, scan_pdf())
    assert as_patient.status_code == 422 and "signer" in as_patient.json["errors"]
    nameless = flow.paper(
        request_id, {"teaching": "granted"}, scan_pdf(), signer_role="legal_representative"
    )
    assert nameless.status_code == 422
    signed = flow.paper(
        request_id,
        {"teaching": "granted"},
        scan_pdf(),
        signer_role="legal_representative",
        signer_name="Paul Parent",
        relationship="parent",
    )
    assert signed.status_code == 201, signed.json
    body = signed.json["receipt"]["receipt"]
    assert body["signer"] == {"role": "legal_representative", "relationship": "parent"}
    assert "Paul" not in json.dumps(body)  # the name is sealed, never in the receipt
    assert db.session.get_one(Consent, signed.json["consent_id"]).signer_sealed is not None


def test_paper_routes_need_a_key_with_consents_write(
    client: FlaskClient, flow: Flow, opened: dict[str, Any]
) -> None:
    form = {**TICKED, "scan": (io.BytesIO(scan_pdf()), "scan.pdf")}
    anonymous = client.post(f"/api/v1/requests/{opened['id']}/paper", data=form)
    assert anonymous.status_code == 401
    verifier = {"Authorization": f"Bearer {api_key(('verify',))}"}
    form = {**TICKED, "scan": (io.BytesIO(scan_pdf()), "scan.pdf")}
    assert (
        client.post(f"/api/v1/requests/{opened['id']}/paper", data=form, headers=verifier)
    ).status_code == 403
    consent_id = flow.paper(opened["id"], TICKED, scan_pdf()).json["consent_id"]
    url = f"/api/v1/consents/{consent_id}/paper-scan"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=verifier).status_code == 403


def test_a_consent_given_on_the_tablet_has_no_paper_scan(flow: Flow) -> None:
    given = flow.consent(photo(17), {"teaching": True})
    response = flow.client.get(
        f"/api/v1/consents/{given['consent_id']}/paper-scan", headers=flow.headers
    )
    assert response.status_code == 404
    missing = flow.client.get("/api/v1/consents/cs_nope/paper-scan", headers=flow.headers)
    assert missing.status_code == 404
    unknown = flow.paper("rq_nope", TICKED, scan_pdf())
    assert unknown.status_code == 404


def test_paper_route_wants_multipart(flow: Flow, opened: dict[str, Any]) -> None:
    response = flow.client.post(
        f"/api/v1/requests/{opened['id']}/paper", json=TICKED, headers=flow.headers
    )
    assert response.status_code == 415


def test_paper_method_without_a_scan_is_refused(flow: Flow, opened: dict[str, Any]) -> None:
    response = flow.client.post(
        f"/api/v1/requests/{opened['id']}/decision",
        json={
            "signer": {"role": "patient"},
            "method": "paper",
            "choices": [
                {"purpose": "teaching", "granted": True},
                {"purpose": "public_social_network", "granted": False},
            ],
        },
        headers=flow.headers,
    )
    assert response.status_code == 422 and "method" in response.json["errors"]
    assert "/paper" in response.json["message"]  # it says where a paper decision goes
    assert db.session.get_one(ConsentRequest, opened["id"]).status == "open"
