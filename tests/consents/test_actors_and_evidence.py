"""What a receipt attests is checked before it is signed (issue 16): who recorded it, by which
method, with which evidence, for which team. Each attack an outsider ran against the HTTP app
gets its refusal, and the honest path of each method still works.

(Another team's records answering 404 on every route is tests/test_roles.py.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from consent.accounts.models import Account, Integration
from consent.consents.models import Consent, ConsentRequest, ExternalEvidence
from consent.db import db
from consent.ledger.models import LogLeaf
from tests.factories import (
    Flow,
    api_key,
    comprehension_answers,
    csrf,
    evidence,
    integration_key,
    member,
    photo,
    scan_pdf,
    signature_strokes,
    tablet_answers,
    tablet_consent,
)

CHOICES = [{"purpose": "teaching", "granted": True}]


def _entries() -> int:
    return int(db.session.scalar(select(func.count()).select_from(LogLeaf)) or 0)


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


@pytest.fixture
def opened(flow: Flow) -> dict[str, Any]:
    patient = flow.patient()
    media = flow.media(patient, photo(61))
    created = flow.open_request(patient, [media["id"]], [{"purpose": "teaching"}])
    return {
        "id": created["id"],
        "path": created["signing_url"].removeprefix("http://consent.test"),
        "media": media,
    }


# --- the attacks -----------------------------------------------------------------------------


def test_the_api_cannot_claim_the_tablet(flow: Flow, opened: dict[str, Any]) -> None:
    before = _entries()
    for body in (
        {"signer": {"role": "patient"}, "choices": CHOICES, "method": "tablet"},
        # Even with a document: the tablet's evidence is the signing session, not an upload.
        {
            "signer": {"role": "patient"},
            "choices": CHOICES,
            "method": "tablet",
            "evidence": evidence(),
        },
        {"signer": {"role": "patient"}, "choices": CHOICES, "method": "paper"},
        {"signer": {"role": "patient"}, "choices": CHOICES, "method": "external"},
    ):
        refused = flow.client.post(
            f"/api/v1/requests/{opened['id']}/decision", json=body, headers=flow.headers
        )
        assert refused.status_code == 422, body
        # The refusal says what to send instead, and hands over no withdrawal link.
        assert "evidence" in refused.json["message"] and "/paper" in refused.json["message"]
        assert "withdrawal_url" not in refused.json
    assert _entries() == before
    assert db.session.get_one(ConsentRequest, opened["id"]).status == "open"
    decision = flow.verify(opened["media"]["sha256"], "teaching")["answer"]["decision"]
    assert decision == "not_covered"


def test_a_system_names_an_account_of_the_team_never_a_name(
    client: FlaskClient, flow: Flow, opened: dict[str, Any]
) -> None:
    system = Flow(client, integration_key(("consents:write",)))
    colleague = member(email="dr.wilson@hospital.test", display_name="Dr Wilson")
    outsider = member(email="dr.cuddy@hospital.test", display_name="Dr Cuddy", team_slug="oncology")
    db.session.commit()
    before = _entries()
    ticked = {"teaching": "granted"}
    for entered_by in (None, "Dr Wilson", "nobody@hospital.test", outsider.email):
        fields = {"signer_role": "patient", **({"entered_by": entered_by} if entered_by else {})}
        refused = system.paper(opened["id"], ticked, scan_pdf(), **fields)
        assert refused.status_code == 422, (entered_by, refused.json)
        assert "entered_by" in refused.json["errors"]
    assert _entries() == before
    # Named by the e-mail of a member, the system records; the receipt names the integration,
    # its key, and the account that entered the form.
    recorded = system.paper(
        opened["id"], ticked, scan_pdf(), signer_role="patient", entered_by=colleague.email
    )
    assert recorded.status_code == 201, recorded.json
    body = recorded.json["receipt"]["receipt"]
    integration = db.session.scalars(select(Integration)).one()
    assert body["recorded_by"]["integration"] == integration.id
    assert body["recorded_by"]["entered_by"] == colleague.id
    assert "account" not in body["recorded_by"] and "Dr" not in json.dumps(body)


def test_a_request_names_its_clinician_by_account(client: FlaskClient) -> None:
    system = Flow(client, integration_key(("consents:write",)))
    colleague = member(email="dr.wilson@hospital.test", display_name="Dr Wilson")
    db.session.commit()
    patient = system.patient()
    media = system.media(patient, photo(63))
    body = {
        "patient_id": patient,
        "media_ids": [media["id"]],
        "form": "media-publication",
        "language": "en",
        "uses": [{"purpose": "teaching"}],
        "expires_at": "2031-01-01T00:00:00Z",
    }
    for clinician in (None, "Dr Wilson", "dr.nobody@hospital.test"):
        named = {**body, **({"clinician": clinician} if clinician else {})}
        refused = client.post("/api/v1/requests", json=named, headers=system.headers)
        assert refused.status_code == 422 and "clinician" in refused.json["errors"], clinician
    made = client.post(
        "/api/v1/requests", json={**body, "clinician": colleague.email}, headers=system.headers
    )
    assert made.status_code == 201, made.json
    assert db.session.get_one(ConsentRequest, made.json["id"]).account_id == colleague.id


def _tablet_to_signature(tablet: FlaskClient, path: str) -> None:
    assert tablet.get(path).status_code == 302
    tablet.get("/tablet/start")
    for number in range(1, 6):
        assert tablet.get(f"/tablet/read/{number}").status_code == 200
    check = tablet.get("/tablet/check").get_data(as_text=True)
    answers = {"csrf_token": csrf(check), **comprehension_answers()}
    assert tablet.post("/tablet/check", data=answers).status_code == 302
    tablet_answers(tablet, {"teaching": "no"})
    who = tablet.get("/tablet/who").get_data(as_text=True)
    assert (
        tablet.post("/tablet/who", data={"csrf_token": csrf(who), "role": "patient"}).status_code
        == 302
    )


def test_a_decision_recorded_elsewhere_ends_the_tablet_flow(
    app: Flask, flow: Flow, opened: dict[str, Any]
) -> None:
    tablet = app.test_client()
    _tablet_to_signature(tablet, opened["path"])
    sign = tablet.get("/tablet/sign").get_data(as_text=True)
    # Meanwhile the decision arrives from another system, with its evidence.
    decided = flow.decide(opened["id"], {"teaching": True})
    code = decided["withdrawal_url"].split("#code=", 1)[1]
    # The patient answers differently and signs: nothing is taken, the page says why.
    signed = tablet.post(
        "/tablet/sign", data={"csrf_token": csrf(sign), "signature": signature_strokes()}
    )
    assert signed.status_code == 410
    text = signed.get_data(as_text=True)
    assert "already been recorded" in text and "Nothing you chose" in text
    for step in ("/tablet/start", "/tablet/choose", "/tablet/sign", "/tablet/wait", "/tablet/done"):
        page = tablet.get(step)
        assert page.status_code in (404, 410), step
        assert code not in page.get_data(as_text=True)
    assert tablet.get("/tablet/receipt.pdf").status_code == 404
    # The link itself is revoked with the decision: a fresh browser cannot use it either.
    assert app.test_client().get(opened["path"]).status_code == 410
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 1


def test_a_tablet_shows_only_the_decision_it_recorded(
    app: Flask, flow: Flow, opened: dict[str, Any]
) -> None:
    tablet = app.test_client()
    _tablet_to_signature(tablet, opened["path"])
    sign = tablet.get("/tablet/sign").get_data(as_text=True)
    signed = tablet.post(
        "/tablet/sign", data={"csrf_token": csrf(sign), "signature": signature_strokes()}
    )
    assert signed.status_code == 302
    # Signed on the tablet and waiting: no other path may record a decision now.
    refused = flow.client.post(
        f"/api/v1/requests/{opened['id']}/decision",
        json={
            "signer": {"role": "patient"},
            "choices": CHOICES,
            "method": "external",
            "evidence": evidence(),
        },
        headers=flow.headers,
    )
    assert refused.status_code == 409
    paper = flow.paper(opened["id"], {"teaching": "granted"}, scan_pdf(), signer_role="patient")
    assert paper.status_code == 409
    assert tablet.get("/tablet/status").json == {"confirmed": False}


# --- the honest paths ------------------------------------------------------------------------


def test_each_method_records_with_its_own_evidence_and_verify_says_which(
    client: FlaskClient, flow: Flow
) -> None:
    patient = flow.patient()
    by_method: dict[str, dict[str, Any]] = {}
    for number, method in enumerate(("tablet", "paper", "external")):
        media = flow.media(patient, photo(70 + number))
        request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
        if method == "tablet":
            consent = tablet_consent(request_id, {"teaching": True})
            receipt = json.loads(consent.receipt)
        elif method == "paper":
            answer = flow.paper(
                request_id, {"teaching": "granted"}, scan_pdf(), signer_role="patient"
            )
            assert answer.status_code == 201, answer.json
            receipt = answer.json["receipt"]["receipt"]
        else:
            receipt = flow.decide(request_id, {"teaching": True})["receipt"]["receipt"]
        by_method[method] = {"receipt": receipt, "sha256": media["sha256"]}
    tablet, paper, external = (by_method[m]["receipt"] for m in ("tablet", "paper", "external"))
    assert tablet["method"] == "tablet" and {"signature", "signing_session"} <= set(tablet)
    assert paper["method"] == "paper" and "paper_scan" in paper
    assert external["method"] == "external"
    assert external["external_evidence"]["source"] == "Test e-signature service, envelope 42"
    stored = db.session.scalars(select(ExternalEvidence)).one()
    assert stored.sha256 == external["external_evidence"]["sha256"]
    for method, recorded in by_method.items():
        answer = flow.verify(recorded["sha256"], "teaching")["answer"]
        assert (answer["decision"], answer["method"]) == ("allowed", method)
    # The same team for all three, and the clinician an account of it.
    teams = {receipt["team"] for receipt in (tablet, paper, external)}
    assert len(teams) == 1
    clinician = db.session.get_one(Account, tablet["informed_by"]["clinician"]["account"])
    assert clinician.display_name == "Dr Test"


def test_external_evidence_must_be_a_document(flow: Flow, opened: dict[str, Any]) -> None:
    url = f"/api/v1/requests/{opened['id']}/decision"
    body = {"signer": {"role": "patient"}, "choices": CHOICES, "method": "external"}
    for bad in (
        evidence(document=b"<html>not a document</html>"),
        {**evidence(), "document": "not base64!"},
        {**evidence(), "kind": "fax"},
        {**evidence(), "source": ""},
    ):
        refused = flow.client.post(url, json={**body, "evidence": bad}, headers=flow.headers)
        assert refused.status_code in (415, 422), (bad["kind"], refused.json)
    assert db.session.get_one(ConsentRequest, opened["id"]).status == "open"
    json_document = evidence(document=b'{"portal": "signed", "at": "2026-12-01"}')
    recorded = flow.client.post(url, json={**body, "evidence": json_document}, headers=flow.headers)
    assert recorded.status_code == 201, recorded.json
    assert recorded.json["receipt"]["receipt"]["external_evidence"]["media_type"] == (
        "application/json"
    )


def test_another_teams_clinician_cannot_replace_the_tablet_link(
    app: Flask, opened: dict[str, Any]
) -> None:
    """The attack in full: clinician B of another team, on the pages, against A's request."""
    from werkzeug.security import generate_password_hash

    outsider = member(email="dr.cuddy@hospital.test", display_name="Dr Cuddy", team_slug="oncology")
    outsider.password_hash = generate_password_hash("correct horse battery staple")
    db.session.commit()
    doctor = app.test_client()
    login = doctor.get("/clinician/login").get_data(as_text=True)
    form = {
        "csrf_token": csrf(login),
        "email": outsider.email,
        "password": "correct horse battery staple",
    }
    assert doctor.post("/clinician/login", data=form).status_code == 302
    dashboard = doctor.get("/clinician/").get_data(as_text=True)
    assert "Jeanne Martin" not in dashboard
    replaced = doctor.post(
        f"/clinician/requests/{opened['id']}/link", data={"csrf_token": csrf(dashboard)}
    )
    assert replaced.status_code == 404
    # A's patient can still open the link A handed over.
    assert app.test_client().get(opened["path"]).status_code == 302
