"""Hospital sign-on in Chromium: a clinician signs in through a real OpenID provider (node's
oidc-provider, tests/oidc), then walks a consent: a new patient, a request with a photo, the
tablet link, the patient's path on the tablet, and the clinician's confirmation. An
administrator signs on too and issues and revokes an API key on the admin pages, in French."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from consent.accounts.models import Account, ApiKey
from consent.db import db
from tests.browser.test_patient_path import check_page, draw_signature, press
from tests.factories import care_team, comprehension_answers, photo, shown_code
from tests.oidc.support import configure_sign_on, oidc_provider  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def _sign_in_at_the_provider(page: Any, login: str) -> None:
    """The provider's own pages: its log-in form (any password), then its consent page."""
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.locator("button[type=submit]").first.click()
    page.wait_for_selector("button[type=submit]")
    if "/interaction/" in page.url:
        page.locator("button[type=submit]").first.click()


@pytest.fixture
def signed_on(
    app: Flask,
    live_server: str,
    monkeypatch: pytest.MonkeyPatch,
    oidc_provider: Callable[[str], str],  # noqa: F811
) -> str:
    issuer = oidc_provider(live_server + "/clinician/login/oidc/callback")
    configure_sign_on(app, monkeypatch, issuer, CONSENT_PUBLIC_URL=live_server)
    care_team("cardiology")
    db.session.commit()
    return live_server


def test_a_clinician_signs_on_through_the_provider_and_walks_a_consent(
    app: Flask, signed_on: str, tablet_page: Any, tmp_path: Path
) -> None:
    live_server = signed_on
    page = tablet_page("landscape")
    page.goto(live_server + "/clinician/login")
    check_page(page, "sign-on-login")
    press(page, "#sign-on")
    _sign_in_at_the_provider(page, "cardio.doc")
    page.wait_for_url("**/clinician/")
    assert "Dr Cardio Doc" in page.content()
    check_page(page, "sign-on-dashboard")

    page.goto(live_server + "/clinician/patients/new")
    page.fill("#record_number", "MRN-5216")
    page.fill("#name", "Bernard Petit")
    page.fill("#birth_date", "1950-02-03")
    press(page, "main button.primary")
    page.wait_for_url("**/clinician/patients/pt_*")
    press(page, "main a.button.primary")
    page.wait_for_url("**/requests/new")
    image = tmp_path / "knee.jpg"
    image.write_bytes(photo(31))
    page.set_input_files("#media", str(image))
    press(page, "#purpose-teaching", "Space")
    page.fill("#expires", "2030-06-30")
    press(page, "main button.primary")  # create the request and make the tablet link at once
    page.wait_for_selector("svg.qr")
    # The page answers the POST; the request's own address is the one it refreshes from.
    request_url = live_server + str(page.locator("#request-live").get_attribute("data-live-page"))
    link = page.locator("p.url a").inner_text()

    tablet = tablet_page("portrait")
    tablet.goto(live_server + link[link.index("/tablet/s/") :])
    tablet.wait_for_url("**/tablet/start")
    press(tablet, "a.button.primary")
    tablet.wait_for_url("**/tablet/media")
    press(tablet, "a.button.primary")
    # Reading in at most five pages, then the check (issue 21's flow).
    tablet.wait_for_url("**/tablet/read/1")
    for _page in range(5):
        before = tablet.url
        press(tablet, "a.button.primary")
        tablet.wait_for_url(lambda url, before=before: url != before)
        if "/tablet/check" in tablet.url:
            break
    tablet.wait_for_url("**/tablet/check")
    for key, answer in comprehension_answers(purposes=["teaching"]).items():
        press(tablet, f"#{key}-{answer}", "Space")
    press(tablet, "main button.primary")
    tablet.wait_for_url("**/tablet/question/1")
    press(tablet, "button.answer.yes")
    tablet.wait_for_url("**/tablet/choose")
    press(tablet, "main button.primary")
    tablet.wait_for_url("**/tablet/who")
    press(tablet, "#role-patient", "Space")
    press(tablet, "main button.primary")
    tablet.wait_for_url("**/tablet/sign")
    draw_signature(tablet)
    press(tablet, "main button.primary")
    tablet.wait_for_url("**/tablet/wait")

    page.goto(request_url)
    assert "The patient has signed" in page.content()
    press(page, "main button.primary")
    page.wait_for_load_state()
    tablet.wait_for_url("**/tablet/done", timeout=15_000)
    assert len(shown_code(tablet.content()).replace("-", "")) == 20
    db.session.expire_all()
    doctor = db.session.scalar(select(Account).where(Account.oidc_subject == "cardio.doc"))
    assert doctor is not None and doctor.password_hash is None


def test_an_unmapped_person_gets_a_clear_page(signed_on: str, tablet_page: Any) -> None:
    page = tablet_page("landscape", locale="fr-FR")
    page.goto(signed_on + "/clinician/login")
    press(page, "#sign-on")
    _sign_in_at_the_provider(page, "visitor")
    page.wait_for_url("**/clinician/login/oidc/callback*")
    assert "Vous ne pouvez pas vous connecter ici" in page.content()
    check_page(page, "sign-on-refused-fr")


def test_an_admin_signs_on_and_issues_then_revokes_a_key_in_french(
    app: Flask, signed_on: str, tablet_page: Any
) -> None:
    page = tablet_page("landscape", locale="fr-FR")
    page.goto(signed_on + "/clinician/login")
    assert "Se connecter avec Demo Hospital ID" in page.content()
    press(page, "#sign-on")
    _sign_in_at_the_provider(page, "consent.admin")
    page.wait_for_url("**/clinician/")
    page.goto(signed_on + "/admin/integrations")
    page.fill("#name", "Outil de publication")
    page.select_option("#team", "cardiology")
    press(page, "main button.primary")
    page.wait_for_selector("[role=status]")
    assert "Outil de publication" in page.locator("table").inner_text()
    check_page(page, "admin-integrations-fr")
    page.goto(signed_on + "/admin/keys")
    check_page(page, "admin-keys-fr")
    page.fill("#name", "Publication")
    page.select_option("#team", "cardiology")
    page.select_option("#holder", label="Outil de publication")
    press(page, "#scope-1", "Space")  # verify
    press(page, "main button.primary")
    page.wait_for_selector("output.secret")
    secret = page.locator("output.secret").inner_text()
    assert re.fullmatch(r"csk_[A-Za-z0-9_-]{40,}", secret)
    check_page(page, "admin-key-created-fr")
    page.goto(signed_on + "/admin/keys")
    assert secret not in page.content()
    press(page, "a[href$='/revoke']")
    page.wait_for_url("**/revoke")
    check_page(page, "admin-key-revoke-fr")
    press(page, "main button.primary")
    page.wait_for_selector("[role=status]")
    assert "révoquée" in page.content()
    db.session.expire_all()
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "Publication"))
    assert key is not None and key.revoked_at is not None
    for path in ("/admin/", "/admin/accounts", "/admin/teams"):
        page.goto(signed_on + path)
        check_page(page, "admin" + path.replace("/", "-").rstrip("-") + "-fr")
