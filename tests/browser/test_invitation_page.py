"""The page an invited person opens from their e-mail, in English and French: zero axe-core
violations, a password chosen there logs them in, and the spent link answers the "ask your
administrator" page (410), itself without violations."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from consent.accounts import invitations
from consent.db import db
from tests.browser.helpers import (
    assert_no_axe_violations,
    assert_no_horizontal_scroll,
    screenshot,
)
from tests.browser.test_patient_path import press
from tests.factories import care_team, member

PASSWORD = "violet tram harbour seventeen"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_an_invited_person_chooses_a_password_on_an_accessible_page(
    app: Flask, live_server: str, tablet_page: Any, language: str
) -> None:
    admin = member(email="ada@hospital.test", display_name="Ada Admin", role="admin")
    _invitation, token = invitations.invite(
        db.session,
        email="noa@hospital.test",
        display_name="Noa Nurse",
        role="clinician",
        team=care_team(),
        created_by=admin.id,
        hours=72,
    )
    db.session.commit()
    page = tablet_page("landscape", locale="fr-FR" if language == "fr" else "en-GB")
    for size in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
        page.set_viewport_size(size)
        answer = page.goto(f"{live_server}/account/invitation/{token}")
        assert answer is not None and answer.status == 200
        assert page.locator("html").get_attribute("lang") == language
        assert "Ada Admin" in page.inner_text("main")
        label = f"invitation-{language}-{size['width']}x{size['height']}"
        assert_no_axe_violations(page, context=label)
        screenshot(page, label)
    # At 200% zoom too: nothing scrolls sideways, nothing axe-core objects to.
    zoomed = tablet_page("landscape", 2.0, locale="fr-FR" if language == "fr" else "en-GB")
    zoomed.goto(f"{live_server}/account/invitation/{token}")
    assert_no_axe_violations(zoomed, context=f"invitation-{language}-200%")
    assert_no_horizontal_scroll(zoomed, context=f"invitation-{language}-200%")
    screenshot(zoomed, f"invitation-{language}-zoom200")
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    press(page, "main button.primary")
    page.wait_for_url("**/clinician/")
    spent = page.goto(f"{live_server}/account/invitation/{token}")
    assert spent is not None and spent.status == 410
    assert_no_axe_violations(page, context=f"invitation-spent-{language}")
    screenshot(page, f"invitation-spent-{language}-390x844")
