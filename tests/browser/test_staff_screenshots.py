"""Every staff page, in English and French, at 1280x800 and 1440x900: it answers, axe-core
finds no WCAG 2.1 A/AA problem, nothing scrolls sideways, and a screenshot is saved under
tests/browser/screenshots/ (git-ignored) for whoever reviews the design."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from consent.accounts.journal import record_admin_action
from consent.consents.models import Consent
from consent.db import db
from consent.web.context import runtime
from consent.workflows.invite import invite_account
from consent.workflows.withdraw import withdraw_with_code
from tests.browser.helpers import (
    assert_no_axe_violations,
    assert_no_horizontal_scroll,
    screenshot,
)
from tests.browser.test_patient_path import press
from tests.factories import Flow, care_team, issue_key, member, photo

PASSWORD = "correct horse battery staple"
SIZES = ({"width": 1280, "height": 800}, {"width": 1440, "height": 900})


def _pages(app: Flask) -> tuple[str, list[tuple[str, str]]]:
    """An admin of the ward (staff pages and admin pages), and the pages to visit."""
    account = member(email="admin.shots@hospital.test", display_name="Dr Admin", role="admin")
    account.password_hash = generate_password_hash(PASSWORD)
    key = issue_key(
        name="ehr", scopes=["consents:write", "webhooks:manage"], days=30, account=account
    )
    db.session.commit()
    api = Flow(app.test_client(), key.secret)
    decided = api.consent(photo(71), {"teaching": True, "public_social_network": True})
    decided_request = db.session.get_one(Consent, decided["consent_id"]).request_id
    withdraw_with_code(
        db.session, runtime().keyring, consent_id=decided["consent_id"], purposes=["teaching"]
    )
    record_admin_action(db.session, account_id=account.id, action="log.audited", object_id="log:3")
    # A pending invitation: the accounts page shows it "invited, waiting", with its buttons.
    invite_account(
        db.session,
        runtime(),
        admin_id=account.id,
        email="invited.nurse@hospital.test",
        display_name="Noa Invited",
        role="clinician",
        team=care_team(),
    )
    db.session.commit()
    # An endpoint, for its "Send a test event" button.
    hooked = api.client.post(
        "/api/v1/webhooks",
        json={"url": "https://publisher.example/hooks", "events": ["consent.withdrawn"]},
        headers=api.headers,
    )
    assert hooked.status_code == 201, hooked.json
    patient = decided["patient_id"]
    media = api.media(patient, photo(72))
    waiting = api.request(patient, [media["id"]], [{"purpose": "teaching"}])
    return account.email, [
        ("worklist", "/clinician/"),
        ("new-patient", "/clinician/patients/new"),
        ("patient", f"/clinician/patients/{patient}"),
        ("new-request", f"/clinician/patients/{patient}/requests/new"),
        ("request-decided", f"/clinician/requests/{decided_request}"),
        ("request-waiting", f"/clinician/requests/{waiting}"),
        ("paper", f"/clinician/requests/{waiting}/paper"),
        ("admin", "/admin/"),
        ("admin-accounts", "/admin/accounts"),
        ("admin-teams", "/admin/teams"),
        ("admin-keys", "/admin/keys"),
        ("admin-integrations", "/admin/integrations"),
        ("admin-operations", "/admin/operations/"),
        ("admin-webhooks", "/admin/operations/webhooks"),
        ("admin-journal", "/admin/journal"),
        ("admin-rotate-key", "/admin/operations/keys/rotate"),
        ("my-settings", "/clinician/settings"),
    ]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_staff_page_in_both_languages_at_desk_sizes(
    app: Flask, live_server: str, tablet_page: Any, language: str
) -> None:
    email, pages = _pages(app)
    page = tablet_page("landscape", locale="fr-FR" if language == "fr" else "en-GB")
    page.goto(live_server + "/clinician/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    press(page, "main button.primary")
    page.wait_for_url("**/clinician/")
    for size in SIZES:
        page.set_viewport_size(size)
        for name, path in pages:
            answer = page.goto(live_server + path)
            assert answer is not None and answer.status == 200, path
            assert page.locator("html").get_attribute("lang") == language, path
            label = f"staff-{name}-{language}-{size['width']}x{size['height']}"
            assert_no_axe_violations(page, context=label)
            assert_no_horizontal_scroll(page, context=label)
            screenshot(page, label)
