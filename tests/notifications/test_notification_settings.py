"""Who gets a withdrawal's e-mail: by default the informing clinician only; the whole team
(clinicians and administrators, not auditors or disabled accounts) when an administrator
chose so on the teams page; and nobody who turned their own notification e-mails off on
"My settings", even for a message queued before. Sent through a real SMTP server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from consent import clock
from consent.accounts.models import Account, AdminJournalEntry
from consent.db import db
from consent.notifications.models import EmailMessage
from consent.web.context import runtime
from consent.workflows.send_email import send_due
from consent.workflows.withdraw import withdraw_with_code
from tests.factories import Flow, care_team, issue_key, member, photo, staff
from tests.notifications.test_withdrawal_email import Inbox, smtp  # noqa: F401 (fixture)
from tests.pages.test_admin_pages import _signed_in


@pytest.fixture
def people() -> dict[str, Account]:
    found = {
        "informing": member(email="dr.inform@hospital.test", display_name="Dr Inform"),
        "colleague": member(email="dr.colleague@hospital.test", display_name="Dr Colleague"),
        "admin": member(email="admin@hospital.test", display_name="Ada", role="admin"),
        "auditor": member(email="audit@hospital.test", display_name="Aud", role="auditor"),
        "gone": member(email="gone@hospital.test", display_name="Gone"),
        "elsewhere": member(email="other@hospital.test", display_name="Other", team_slug="ward-b"),
    }
    found["gone"].disabled_at = clock.now()
    db.session.commit()
    return found


def _withdrawn(app: Flask, informing: Account, seed: int = 93) -> None:
    key = issue_key(name="k", scopes=["consents:write"], days=30, account=informing)
    db.session.commit()
    decision = Flow(app.test_client(), key.secret).consent(photo(seed), {"teaching": True})
    withdraw_with_code(
        db.session, runtime().keyring, consent_id=decision["consent_id"], purposes=["teaching"]
    )
    db.session.commit()


def _sent_to(configure: Any, inbox: Inbox, port: int) -> list[str]:
    configure["CONSENT_SMTP_HOST"] = "127.0.0.1"
    configure["CONSENT_SMTP_PORT"] = port
    configure["CONSENT_SMTP_FROM"] = "consent@hospital.test"
    send_due(db.session, runtime())
    return sorted(address for recipients, _message in inbox.messages for address in recipients)


def test_by_default_only_the_informing_clinician_is_mailed(
    app: Flask,
    configure: Any,
    smtp: tuple[Inbox, int],  # noqa: F811
    people: dict[str, Account],
) -> None:
    _withdrawn(app, people["informing"])
    assert _sent_to(configure, *smtp) == ["dr.inform@hospital.test"]


def test_an_admin_sends_a_teams_withdrawals_to_the_whole_team(
    app: Flask,
    configure: Any,
    smtp: tuple[Inbox, int],  # noqa: F811
    people: dict[str, Account],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    admin = _signed_in(app, people["admin"].id)
    assert admin.post("/admin/teams/ward-a/notices", data={"to": "everyone"}).status_code == 422
    saved = admin.post("/admin/teams/ward-a/notices", data={"to": "team"})
    assert saved.status_code == 302
    page = admin.get("/admin/teams").get_data(as_text=True)
    assert re.search(r'id="notices-ward-a-team" name="to" value="team" checked', page)
    assert re.search(r'id="notices-ward-b-clinician" name="to" value="clinician" checked', page)
    db.session.expire_all()
    assert care_team("ward-a").withdrawal_notices_to_team
    journal = db.session.scalars(select(AdminJournalEntry)).one()
    assert journal.action == "team.notices_changed"

    _withdrawn(app, people["informing"])
    assert _sent_to(configure, *smtp) == [
        "admin@hospital.test",
        "dr.colleague@hospital.test",
        "dr.inform@hospital.test",
    ]
    inbox = smtp[0]
    # The same message for each, naming no patient.
    assert len({message.get_content() for _to, message in inbox.messages}) == 1


def test_a_clinician_who_turned_emails_off_gets_none(
    app: Flask,
    configure: Any,
    smtp: tuple[Inbox, int],  # noqa: F811
    people: dict[str, Account],
) -> None:
    informing = people["informing"]
    _withdrawn(app, informing)  # queued while their e-mails were on
    page = _signed_in(app, informing.id)
    settings = page.get("/clinician/settings").get_data(as_text=True)
    assert 'id="emails" name="emails" value="on" aria-describedby="emails-help" checked' in settings
    token = re.search(r'name="csrf_token" value="([^"]+)"', settings)
    assert token is not None
    assert page.post("/clinician/settings", data={}).status_code == 400  # no CSRF token
    saved = page.post("/clinician/settings", data={"csrf_token": token.group(1)})
    assert saved.status_code == 302
    db.session.expire_all()
    assert not db.session.get_one(Account, informing.id).notification_emails

    assert _sent_to(configure, *smtp) == []
    assert db.session.scalars(select(EmailMessage.state)).all() == ["cancelled"]
    # Withdrawals after that are not even queued for them (another photo: a team stores a
    # file once).
    _withdrawn(app, informing, seed=94)
    assert db.session.scalars(select(EmailMessage.state)).all() == ["cancelled"]


def test_an_auditor_has_no_settings_page(app: Flask) -> None:
    auditor = staff("auditor")
    db.session.commit()
    assert _signed_in(app, auditor.id).get("/clinician/settings").status_code == 403


def test_someone_invited_gets_the_teams_news_only_once_they_joined(
    app: Flask,
    configure: Any,
    smtp: tuple[Inbox, int],  # noqa: F811
    people: dict[str, Account],
) -> None:
    """An invitation may go to a mistyped address: until it is accepted, nobody there is a
    member of the team, and the team's withdrawals are not e-mailed there."""
    from consent.accounts.invitations import accept, invite

    team = care_team("ward-a")
    team.withdrawal_notices_to_team = True
    invitation, _token = invite(
        db.session,
        email="new.doctor@hospital.test",
        display_name="Dr New",
        role="clinician",
        team=team,
        created_by=people["admin"].id,
        hours=72,
    )
    db.session.commit()
    _withdrawn(app, people["informing"], seed=94)
    first = _sent_to(configure, *smtp)
    assert "new.doctor@hospital.test" not in first and "dr.colleague@hospital.test" in first

    accept(db.session, invitation, "x" * 60)
    db.session.commit()
    smtp[0].messages.clear()
    _withdrawn(app, people["informing"], seed=95)
    assert "new.doctor@hospital.test" in _sent_to(configure, *smtp)
