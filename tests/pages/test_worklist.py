"""The clinician's worklist and request page tell the truth about every consent: a withdrawn
use is never shown as allowed, an expired or erased one says so, a signature waiting for the
clinician is visible (and polled), and only the caller's teams are listed, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from consent.accounts.scope import EVERY_TEAM
from consent.consents import signing
from consent.consents.decisions import Signer
from consent.consents.models import Consent
from consent.consents.signature import drawn_signature
from consent.crypto.vault import Vault
from consent.db import db
from consent.web.context import runtime
from consent.workflows.erase import erase_patient
from consent.workflows.withdraw import withdraw_with_code
from consent.workflows.worklist import PAGE_SIZE
from tests.factories import WARD, Flow, csrf, issue_key, member, photo, signature_strokes

PASSWORD = "correct horse battery staple"


def _clinician(app: Flask, email: str, team: str = WARD) -> tuple[FlaskClient, Flow]:
    account = member(email=email, display_name="Dr Demo", team_slug=team)
    account.password_hash = generate_password_hash(PASSWORD)
    key = issue_key(
        name="ehr", scopes=["verify", "consents:write"], days=30, account=account, team_slug=team
    )
    db.session.commit()
    doctor = app.test_client()
    login = doctor.get("/clinician/login").get_data(as_text=True)
    answer = doctor.post(
        "/clinician/login", data={"csrf_token": csrf(login), "email": email, "password": PASSWORD}
    )
    assert answer.status_code == 302
    return doctor, Flow(app.test_client(), key.secret)


@pytest.fixture
def doctor(app: Flask) -> tuple[FlaskClient, Flow]:
    return _clinician(app, "dr.demo@hospital.test")


def _decided(flow: Flow, seed: int, **overrides: Any) -> dict[str, Any]:
    decision = flow.consent(
        photo(seed), {"teaching": True, "public_social_network": True, "survey": False}, **overrides
    )
    return decision


def _page(client: FlaskClient, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, url
    return answer.get_data(as_text=True)


def test_a_withdrawn_use_is_shown_withdrawn_with_its_date_never_allowed(
    doctor: tuple[FlaskClient, Flow],
) -> None:
    client, flow = doctor
    decision = _decided(flow, 41)
    consent = db.session.get_one(Consent, decision["consent_id"])
    withdraw_with_code(db.session, runtime().keyring, consent_id=consent.id, purposes=["teaching"])
    db.session.commit()
    page = _page(client, f"/clinician/requests/{consent.request_id}")
    today = datetime.now(UTC).strftime("%-d %B %Y")
    assert f"Withdrawn on {today} by the patient" in page
    allows = page.split('id="verify-today"')[0]  # the uses, before verify's answers
    assert allows.count(">Allowed<") == 1  # public social network only; teaching is not
    assert "Refused" in page
    assert "Partly withdrawn" in page
    assert "/clinician/withdrawals/wd_" in page  # its receipt, to download
    worklist = _page(client, "/clinician/")
    assert "Partly withdrawn" in worklist and f"on {today}" in worklist
    # Withdrawing the rest: the request is withdrawn, on both pages.
    withdraw_with_code(db.session, runtime().keyring, consent_id=consent.id, purposes=None)
    db.session.commit()
    assert ">Allowed<" not in _page(client, f"/clinician/requests/{consent.request_id}")
    assert "state-withdrawn" in _page(client, "/clinician/?state=withdrawn")


def test_an_expired_consent_is_shown_expired(
    app: Flask, doctor: tuple[FlaskClient, Flow], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, flow = doctor
    decision = _decided(flow, 42)
    consent = db.session.get_one(Consent, decision["consent_id"])
    later = consent.expires_at + timedelta(days=1)
    monkeypatch.setattr("consent.clock.now", lambda: later)
    page = _page(client, f"/clinician/requests/{consent.request_id}")
    assert "Expired on" in page and ">Allowed<" not in page
    assert "state-expired" in _page(client, "/clinician/?state=expired")


def test_an_erased_patients_request_says_so_without_a_name(
    doctor: tuple[FlaskClient, Flow],
) -> None:
    client, flow = doctor
    decision = _decided(flow, 43)
    consent = db.session.get_one(Consent, decision["consent_id"])
    rt = runtime()
    erase_patient(
        db.session,
        rt.keyring,
        rt.files,
        decision["patient_id"],
        scope=EVERY_TEAM,
        recorded_by={"team": consent.team_id},
    )
    db.session.commit()
    page = _page(client, f"/clinician/requests/{consent.request_id}")
    assert "This patient was erased" in page and "Jeanne Martin" not in page
    assert "when the patient was erased" in page and ">Allowed<" not in page
    worklist = _page(client, "/clinician/?state=erased")
    assert "Erased patient" in worklist and "Jeanne Martin" not in worklist


def test_a_signature_waiting_for_the_clinician_is_counted_and_polled(
    doctor: tuple[FlaskClient, Flow],
) -> None:
    client, flow = doctor
    patient = flow.patient()
    media = flow.media(patient, photo(44))
    request_id = flow.request(
        patient, [media["id"]], [{"purpose": "survey"}, {"purpose": "teaching"}]
    )
    before = client.get("/clinician/status").json
    assert before["counts"]["waiting_patient"] == 1
    assert client.get(f"/clinician/requests/{request_id}/status").json["state"] == (
        "waiting_patient"
    )
    rt = runtime()
    issued = signing.issue_link(db.session, request_id=request_id, minutes=30, scope=EVERY_TEAM)
    link = signing.open_link(db.session, issued.token, "tablet")
    signing.submit(
        db.session,
        rt.vault,
        link=link,
        choices={"teaching": True, "survey": False},
        signer=Signer("patient"),
        drawn=drawn_signature(signature_strokes()),
    )
    db.session.commit()
    after = client.get("/clinician/status").json
    assert after["counts"]["waiting_confirmation"] == 1 and after["version"] != before["version"]
    assert "waits for your confirmation" in after["message"]
    assert "Jeanne" not in str(after)  # counts only
    status = client.get(f"/clinician/requests/{request_id}/status").json
    assert status["state"] == "waiting_confirmation"
    worklist = _page(client, "/clinician/")
    assert "<title>(1) Worklist" in worklist and "data-live-url" in worklist
    page = _page(client, f"/clinician/requests/{request_id}")
    assert "tablet link made" in page and "tablet link opened on the tablet" in page
    # The answers in the order the request asked them (survey first), not alphabetical.
    assert page.index("Health study") < page.index("Teaching")


def test_the_worklist_pages_searches_and_shows_only_the_callers_teams(
    app: Flask, doctor: tuple[FlaskClient, Flow]
) -> None:
    client, flow = doctor
    for n in range(PAGE_SIZE + 2):
        patient = flow.patient(record_number=f"MRN-{n:03d}", name=f"Patient {n:03d}")
        media = flow.media(patient, photo(100 + n))
        flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    _other, other_flow = _clinician(app, "dr.other@hospital.test", team="ward-z")
    other_flow.patient(record_number="MRN-OTHER", name="Hidden Person")
    first = _page(client, "/clinician/")
    assert first.count("/clinician/requests/rq_") == PAGE_SIZE
    assert "page 1 of 2" in first and "Hidden Person" not in first
    second = _page(client, "/clinician/?page=2")
    assert second.count("/clinician/requests/rq_") == 2
    found = _page(client, "/clinician/?q=mrn-007")  # the keyed look-up normalises case
    assert "Patient 007" in found and found.count("/clinician/requests/rq_") == 1
    by_name = _page(client, "/clinician/?q=patient+01")
    assert by_name.count("/clinician/requests/rq_") == 10
    assert "No request matches" in _page(client, "/clinician/?q=Hidden")
    # Nonsense in the query string is ignored, never an error.
    _page(client, "/clinician/?page=-3&state=nope&since=2026-99-99&form=zz&use=x")
    # A control character is refused at the door, like everywhere (consent.web.textinput).
    assert client.get("/clinician/?form=%00").status_code == 422


def test_the_new_request_form_defaults_to_the_interface_language(
    doctor: tuple[FlaskClient, Flow],
) -> None:
    client, flow = doctor
    patient = flow.patient()
    page = _page(client, f"/clinician/patients/{patient}/requests/new")
    assert 'value="media-publication:en" required checked' in page
    assert "(media-publication v1, en)" not in page
    # Platforms are asked only for the uses published somewhere.
    assert 'name="channels-teaching"' not in page
    assert 'name="channels-public_social_network"' in page
    client.post("/clinician/language", data={"lang": "fr", "csrf_token": csrf(page)})
    french = _page(client, f"/clinician/patients/{patient}/requests/new")
    assert 'value="media-publication:fr" required checked' in french
    assert "lisibilité" in french and not any(f"lisibilité {n}." in french for n in range(100))


def test_a_worklist_visit_decrypts_one_page_of_patients_at_most(
    app: Flask, doctor: tuple[FlaskClient, Flow], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: the dashboard once decrypted every patient of the team on every visit."""
    client, flow = doctor
    for n in range(PAGE_SIZE + 3):
        patient = flow.patient(record_number=f"MRN-{n:03d}", name=f"Patient {n:03d}")
        media = flow.media(patient, photo(300 + n))
        flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    unwrapped: list[bytes] = []
    unwrap = Vault.unwrap

    def counted(self: Vault, wrapped: bytes) -> bytes:
        unwrapped.append(wrapped)
        return unwrap(self, wrapped)

    monkeypatch.setattr(Vault, "unwrap", counted)
    _page(client, "/clinician/")
    assert 0 < len(unwrapped) <= PAGE_SIZE
    unwrapped.clear()
    _page(client, "/clinician/?page=2")
    assert 0 < len(unwrapped) <= 3


def test_the_request_page_shows_what_verify_answers_today_per_media_and_use(
    doctor: tuple[FlaskClient, Flow],
) -> None:
    client, flow = doctor
    decision = _decided(flow, 45)
    consent = db.session.get_one(Consent, decision["consent_id"])
    url = f"/clinician/requests/{consent.request_id}"
    page = _page(client, url)
    assert "What verify answers today" in page
    assert page.count("state-verify-allowed") == 2 and "state-verify-not_covered" in page
    # The page says what verify itself says: ask it too.
    sha = decision["media"]["sha256"]
    assert flow.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    withdraw_with_code(db.session, runtime().keyring, consent_id=consent.id, purposes=["teaching"])
    db.session.commit()
    page = _page(client, url)
    assert page.count("state-verify-allowed") == 1 and "state-verify-withdrawn" in page
    assert flow.verify(sha, "teaching")["answer"]["decision"] == "withdrawn"
