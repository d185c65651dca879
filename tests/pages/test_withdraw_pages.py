"""The patient's own withdrawal, page by page through the test client (the browser tests walk the
same pages in Chromium): the code from the receipt, the consent shown, some or all uses, the
confirmation, the withdrawal receipt; verify and the audit follow; a bad code says nothing."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent.accounts.scope import EVERY_TEAM
from consent.consents.decisions import get_consent, withdrawal_code
from consent.consents.models import Withdrawal
from consent.consents.withdrawal_codes import ALPHABET
from consent.db import db
from consent.web.context import runtime
from consent.workflows.audit import audit
from tests.conftest import LiveSettings
from tests.factories import CSRF, Flow, api_key, csrf, photo, scan_pdf, screen_copy_of
from tests.pdf.readback import pdf_text

PUBLIC = "http://consent.test"
CHOICES = {"teaching": True, "public_social_network": True, "journal_publication": False}


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def decided(
    flow: Flow, choices: dict[str, bool] | None = None, language: str = "en", seed: int = 5
) -> dict[str, Any]:
    """A consent recorded through the API; its id, media hash and the patient's code (another
    ``seed`` for a second patient: a team holds a file once)."""
    decision = flow.consent(photo(seed), choices or CHOICES, language=language)
    url = decision["withdrawal_url"]
    prefix = f"{PUBLIC}/withdraw#code="
    assert url.startswith(prefix)
    return {
        "consent_id": decision["consent_id"],
        "sha256": decision["media"]["sha256"],
        "media_id": decision["media"]["id"],
        "patient_id": decision["patient_id"],
        "code": url[len(prefix) :],
    }


def submit_code(patient: FlaskClient, code: str) -> Any:
    page = patient.get("/withdraw").get_data(as_text=True)
    return patient.post("/withdraw", data={"csrf_token": csrf(page), "code": code})


def choose(patient: FlaskClient, **form: Any) -> Any:
    page = patient.get("/withdraw/consent").get_data(as_text=True)
    return patient.post("/withdraw/consent", data={"csrf_token": csrf(page), **form})


def confirm(patient: FlaskClient) -> Any:
    page = patient.get("/withdraw/confirm").get_data(as_text=True)
    return patient.post("/withdraw/confirm", data={"csrf_token": csrf(page)})


def decision(flow: Flow, sha256: str, purpose: str) -> str:
    return str(flow.verify(sha256, purpose)["answer"]["decision"])


def test_the_decision_answer_carries_the_patients_withdrawal_link(flow: Flow) -> None:
    given = decided(flow)
    assert given["code"] == withdrawal_code(
        db.session, runtime().vault, get_consent(db.session, given["consent_id"], scope=EVERY_TEAM)
    )


def test_the_paper_answer_carries_the_withdrawal_link_too(flow: Flow) -> None:
    patient = flow.patient()
    media = flow.media(patient, photo(6))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}])
    response = flow.paper(request_id, {"teaching": "granted"}, scan_pdf())
    assert response.status_code == 201, response.json
    code = response.json["withdrawal_code"]
    assert response.json["withdrawal_url"] == f"{PUBLIC}/withdraw#code={code}"


def test_code_page_takes_the_code_from_the_fragment_with_an_external_script(
    client: FlaskClient,
) -> None:
    page = client.get("/withdraw")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<label for="code">' in html and 'id="code" name="code"' in html
    assert "/static/js/withdraw-code.js" in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None, "no inline script"
    script = client.get("/static/js/withdraw-code.js")
    assert script.status_code == 200 and b"replaceState" in script.get_data()
    script.close()


def test_patient_withdraws_one_use_in_two_steps_and_verify_and_audit_follow(
    app: Flask, flow: Flow
) -> None:
    given = decided(flow)
    patient = app.test_client()
    opened = submit_code(patient, given["code"].lower().replace("-", " "))  # as typed
    assert opened.status_code == 302 and opened.location.endswith("/withdraw/consent")

    page = patient.get("/withdraw/consent").get_data(as_text=True)
    assert "Teaching" in page and "Public social" in page
    assert "Refused" in page  # the journal, refused at signing, is not offered
    assert 'value="journal_publication"' not in page
    assert "Ends on" in page
    image = patient.get(f"/withdraw/media/{given['media_id']}")
    assert image.status_code == 200 and screen_copy_of(image.get_data(), photo(5))
    assert image.headers["Cache-Control"] == "no-store"

    chosen = choose(patient, scope="some", purpose="teaching")
    assert chosen.status_code == 302 and chosen.location.endswith("/withdraw/confirm")
    page = patient.get("/withdraw/confirm").get_data(as_text=True)
    assert "You are about to withdraw your consent for" in page
    assert "cannot be undone" in page and "already published" in page
    # Nothing is withdrawn before the confirmation.
    assert decision(flow, given["sha256"], "teaching") == "allowed"

    done = confirm(patient)
    assert done.status_code == 302 and done.location.endswith("/withdraw/done")
    assert decision(flow, given["sha256"], "teaching") == "withdrawn"
    assert decision(flow, given["sha256"], "public_social_network") == "allowed"

    page = patient.get("/withdraw/done").get_data(as_text=True)
    assert "Your withdrawal is recorded" in page
    assert "/withdraw/withdrawal-receipt.pdf" in page
    assert f"{PUBLIC}/v/{given['consent_id']}" in page
    row = db.session.query(Withdrawal).one()
    body = json.loads(row.receipt)
    assert body["purposes"] == ["teaching"]
    assert body["method"] == "self-service" and body["signer"] == {"role": "patient"}
    assert row.id in page
    pdf = patient.get("/withdraw/withdrawal-receipt.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    report = audit(db.session, runtime().keyring)
    assert report.ok, report.findings
    assert report.withdrawals == 1


def test_the_same_code_withdraws_the_rest_later_then_opens_nothing(app: Flask, flow: Flow) -> None:
    given = decided(flow)
    first = app.test_client()
    submit_code(first, given["code"])
    choose(first, scope="some", purpose="teaching")
    confirm(first)

    later = app.test_client()
    assert submit_code(later, given["code"]).status_code == 302
    page = later.get("/withdraw/consent").get_data(as_text=True)
    assert "Already withdrawn" in page and 'value="teaching"' not in page
    assert choose(later, scope="all").status_code == 302
    assert confirm(later).status_code == 302
    assert decision(flow, given["sha256"], "public_social_network") == "withdrawn"
    assert "Nothing is allowed any more" in later.get("/withdraw/done").get_data(as_text=True)
    # Used up: the code now opens nothing, with the answer a wrong code gets.
    used = submit_code(app.test_client(), given["code"])
    assert used.status_code == 422
    assert "We could not find a consent with this code" in used.get_data(as_text=True)


def _without_token(html: str) -> str:
    return CSRF.sub('name="csrf_token" value=""', html)


def test_wrong_unknown_used_up_and_erased_codes_all_get_the_same_answer(
    app: Flask, flow: Flow, runner: Any, monkeypatch: pytest.MonkeyPatch, configure: LiveSettings
) -> None:
    # More wrong codes than the rate limit lets through (tests/test_rate_limits.py tests it).
    configure["CONSENT_RATELIMIT_WITHDRAWAL_CODE"] = "100 per minute"
    used = decided(flow, {"teaching": True})
    client = app.test_client()
    submit_code(client, used["code"])
    choose(client, scope="all")
    confirm(client)
    erased = decided(flow, {"teaching": True}, seed=15)
    result = runner.invoke(args=["erase-patient", erased["patient_id"], "--yes"])
    assert result.exit_code == 0, result.output
    unknown = "-".join(
        "".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(5)
    )  # well formed, never issued
    answers = []
    for code in (unknown, "not a code", "", "X" * 5000, used["code"], erased["code"]):
        response = submit_code(app.test_client(), code)
        answers.append((response.status_code, _without_token(response.get_data(as_text=True))))
    assert answers[0][0] == 422
    assert "We could not find a consent with this code" in answers[0][1]
    for answer in answers[1:]:
        assert answer == answers[0], "every bad code: one same page"


def test_every_step_needs_the_code_first(app: Flask, flow: Flow) -> None:
    given = decided(flow)
    stranger = app.test_client()
    assert stranger.get("/withdraw/consent").location.endswith("/withdraw")
    assert stranger.get("/withdraw/confirm").location.endswith("/withdraw")
    assert stranger.get(f"/withdraw/media/{given['media_id']}").status_code == 404
    assert stranger.get("/withdraw/done").status_code == 404
    assert stranger.get("/withdraw/withdrawal-receipt.pdf").status_code == 404
    # The confirmation step needs a choice first.
    patient = app.test_client()
    submit_code(patient, given["code"])
    assert patient.get("/withdraw/confirm").location.endswith("/withdraw/consent")
    # A code is posted with a CSRF token, never without.
    assert patient.post("/withdraw", data={"code": given["code"]}).status_code == 400


def test_the_opened_consent_expires_with_the_session_minutes(
    app: Flask, flow: Flow, monkeypatch: pytest.MonkeyPatch, configure: LiveSettings
) -> None:
    import time

    from consent.pages import withdraw as withdraw_pages

    given = decided(flow)
    configure["CONSENT_WITHDRAWAL_SESSION_MINUTES"] = 1
    patient = app.test_client()
    assert submit_code(patient, given["code"]).status_code == 302
    assert patient.get("/withdraw/consent").status_code == 200
    later = time.time() + 61
    monkeypatch.setattr(
        withdraw_pages, "time", type("Later", (), {"time": staticmethod(lambda: later)})
    )
    assert patient.get("/withdraw/consent").location.endswith("/withdraw")
    assert decision(flow, given["sha256"], "teaching") == "allowed"


def test_nothing_ticked_is_refused_with_a_message(app: Flask, flow: Flow) -> None:
    given = decided(flow)
    patient = app.test_client()
    submit_code(patient, given["code"])
    response = choose(patient, scope="some")
    assert response.status_code == 422
    assert "Please tick at least one use" in response.get_data(as_text=True)
    # A use that is not active cannot be smuggled in.
    response = choose(patient, scope="some", purpose="journal_publication")
    assert response.status_code == 422


def test_stop_changes_nothing_and_forgets_the_code(app: Flask, flow: Flow) -> None:
    given = decided(flow)
    patient = app.test_client()
    submit_code(patient, given["code"])
    choose(patient, scope="all")
    page = patient.get("/withdraw/confirm").get_data(as_text=True)
    stopped = patient.post("/withdraw/stop", data={"csrf_token": csrf(page)})
    assert stopped.status_code == 200
    assert "Nothing was changed" in stopped.get_data(as_text=True)
    assert patient.get("/withdraw/confirm").location.endswith("/withdraw")
    assert decision(flow, given["sha256"], "teaching") == "allowed"
    assert db.session.query(Withdrawal).count() == 0


def test_the_pages_switch_to_french_and_stay_on_the_withdrawal_path(app: Flask) -> None:
    patient = app.test_client()
    page = patient.get("/withdraw").get_data(as_text=True)
    assert 'action="/withdraw/language"' in page
    switched = patient.post(
        "/withdraw/language", data={"csrf_token": csrf(page), "lang": "fr", "next": "/withdraw"}
    )
    assert switched.status_code == 302 and switched.location.endswith("/withdraw")
    assert '<html lang="fr">' in patient.get("/withdraw").get_data(as_text=True)
    # Only back to the withdrawal pages, never elsewhere.
    away = patient.post(
        "/withdraw/language",
        data={"csrf_token": csrf(page), "lang": "en", "next": "//evil.example/withdraw"},
    )
    assert away.location.endswith("/withdraw")
    assert "evil" not in away.location


@pytest.mark.parametrize(
    ("language", "limit", "never"),
    [
        ("en", "cannot always be removed", "recalled"),
        ("fr", "ne peut pas toujours être supprimée", "rappelées"),
    ],
)
def test_the_withdrawal_says_a_shared_copy_cannot_always_be_removed(
    app: Flask, flow: Flow, language: str, limit: str, never: str
) -> None:
    """As the forms say it (issue 21): not "cannot be recalled", on the page and in the PDF
    (the PDF is in the consent's language)."""
    given = decided(flow, language=language)
    patient = app.test_client()
    submit_code(patient, given["code"])
    page = patient.get("/withdraw/consent").get_data(as_text=True)
    patient.post(
        "/withdraw/language",
        data={"csrf_token": csrf(page), "lang": language, "next": "/withdraw/consent"},
    )
    choose(patient, scope="some", purpose="teaching")
    page = " ".join(patient.get("/withdraw/confirm").get_data(as_text=True).split())
    assert limit in page and never not in page
    confirm(patient)
    text = " ".join(pdf_text(patient.get("/withdraw/withdrawal-receipt.pdf").data).split())
    assert limit in text and never not in text
