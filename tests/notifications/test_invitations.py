"""An administrator invites a person (issue 18, point 5): the e-mail reaches a real SMTP
server (aiosmtpd) through the outbox, as ``send-emails`` sends it; its link opens a page where
the person chooses a password, once; then they log in. The token is never in the database,
the logs or the admin journal: the outbox holds it sealed with the vault until it is sent."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent import clock
from consent.accounts.id_tokens import Identity
from consent.accounts.models import Account, AccountInvitation, AdminJournalEntry
from consent.accounts.sign_on import parse_group_map, sign_on
from consent.db import db
from consent.notifications.models import EmailMessage
from consent.workflows.invitation_mail import expiry_en, expiry_fr
from tests.factories import care_team, csrf, staff
from tests.notifications.test_withdrawal_email import Inbox, smtp  # noqa: F401  (fixture)
from tests.pages.test_admin_pages import _signed_in
from tests.test_rate_limits import limited
from tests.test_request_logs import captured  # noqa: F401  (fixture)

PASSWORD = "violet tram harbour seventeen"
LINK = re.compile(r"https?://[^\s]+/account/invitation/([A-Za-z0-9_-]{43})")


@pytest.mark.parametrize(
    ("when", "english", "french"),
    [
        (datetime(2027, 3, 1, 9, 5, tzinfo=UTC), "1 March 2027", "1er mars 2027"),
        (datetime(2026, 8, 17, 23, 59, tzinfo=UTC), "17 August 2026", "17 août 2026"),
    ],
)
def test_the_link_s_end_reads_as_a_date_in_english_and_in_french(
    when: datetime, english: str, french: str
) -> None:
    # The date in each language's words, kept on one line by the mail client (non-breaking).
    english, french = english.replace(" ", "\u00a0"), french.replace(" ", "\u00a0")
    assert expiry_en(when) == f"{english}, {when:%H:%M} UTC"
    assert expiry_fr(when) == f"{french} à {when:%H} h {when:%M} (UTC)"


def _admin(app: Flask) -> FlaskClient:
    account = staff("admin", name="Ada Admin")
    care_team("ward-b")
    db.session.commit()
    return _signed_in(app, account.id)


def _invite(admin: FlaskClient, email: str = "new.nurse@hospital.test", **extra: str) -> Any:
    page = admin.get("/admin/accounts").get_data(as_text=True)
    form = {"email": email, "display_name": "Noa Nurse", "team": "ward-a", "role": "clinician"}
    return admin.post("/admin/accounts/invite", data={"csrf_token": csrf(page), **form, **extra})


def _send(app: Flask, configure: Any, port: int) -> None:
    configure["CONSENT_SMTP_HOST"] = "127.0.0.1"
    configure["CONSENT_SMTP_PORT"] = port
    configure["CONSENT_SMTP_FROM"] = "consent@hospital.test"
    answer = app.test_cli_runner().invoke(args=["send-emails"])
    assert answer.exit_code == 0, answer.output


def _token(inbox: Inbox) -> str:
    body = inbox.messages[-1][1].get_content()
    found = LINK.search(body)
    assert found, body
    return found.group(1)


def _choose(app: Flask, token: str, password: str = PASSWORD) -> Any:
    person = app.test_client()
    page = person.get(f"/account/invitation/{token}")
    if page.status_code != 200:
        return page
    text = page.get_data(as_text=True)
    data = {"csrf_token": csrf(text), "password": password, "password_again": password}
    return person.post(f"/account/invitation/{token}", data=data)


def _everything_stored() -> str:
    """Every row of every table, as text (bytes included)."""
    rows: list[Any] = []
    for table in db.metadata.sorted_tables:
        rows += [tuple(row) for row in db.session.execute(select(table))]
    return repr(rows)


def test_an_invited_person_sets_their_password_and_logs_in(
    app: Flask,
    configure: Any,
    smtp: tuple[Inbox, int],  # noqa: F811
    captured: io.StringIO,  # noqa: F811
) -> None:
    inbox, port = smtp
    admin = _admin(app)
    assert _invite(admin).status_code == 302
    account = db.session.scalar(select(Account).where(Account.email == "new.nurse@hospital.test"))
    assert account is not None and account.password_hash is None
    listed = admin.get("/admin/accounts").get_data(as_text=True)
    assert "invited, waiting" in listed
    message = db.session.scalar(select(EmailMessage).where(EmailMessage.kind == "account.invited"))
    assert message is not None and message.secret_sealed  # queued with the invitation
    _send(app, configure, port)
    rcpt, mail = inbox.messages[-1]
    assert rcpt == ["new.nurse@hospital.test"]
    body = mail.get_content()
    assert "Ada Admin" in body and "Team ward-a" in body and "until" in body and "jusqu'au" in body
    token = _token(inbox)
    db.session.expire_all()
    assert db.session.get_one(EmailMessage, message.id).secret_sealed is None  # forgotten once sent
    # The person chooses a password on the page, and is logged in.
    person = app.test_client()
    page = person.get(f"/account/invitation/{token}").get_data(as_text=True)
    assert "Ada Admin" in page and "Team ward-a" in page
    forged = person.post(
        f"/account/invitation/{token}", data={"password": PASSWORD, "password_again": PASSWORD}
    )
    assert forged.status_code == 400  # without the form's CSRF token
    weak = person.post(
        f"/account/invitation/{token}",
        data={"csrf_token": csrf(page), "password": "short", "password_again": "short"},
    )
    assert weak.status_code == 422 and "at least 12" in weak.get_data(as_text=True)
    chosen = person.post(
        f"/account/invitation/{token}",
        data={"csrf_token": csrf(page), "password": PASSWORD, "password_again": PASSWORD},
    )
    assert chosen.status_code == 302 and chosen.location.endswith("/clinician/")
    assert person.get("/clinician/").status_code == 200
    # The link is spent; the password works on the log-in page.
    assert _choose(app, token).status_code == 410
    other = app.test_client()
    login = other.get("/clinician/login").get_data(as_text=True)
    answer = other.post(
        "/clinician/login",
        data={"csrf_token": csrf(login), "email": "new.nurse@hospital.test", "password": PASSWORD},
    )
    assert answer.status_code == 302
    actions = [entry.action for entry in db.session.scalars(select(AdminJournalEntry))]
    assert actions == ["account.invited", "account.invitation_accepted"]
    # The token is nowhere: not in any row (outbox and journal included), not in the logs.
    assert token not in _everything_stored()
    assert captured.getvalue() and token not in captured.getvalue()


def test_an_expired_a_cancelled_and_a_replaced_link_get_410(
    app: Flask,
    configure: Any,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    admin = _admin(app)
    _invite(admin, "one@hospital.test")
    _send(app, configure, port)
    first = _token(inbox)
    invitation = db.session.scalar(select(AccountInvitation))
    assert invitation is not None
    page = admin.get("/admin/accounts").get_data(as_text=True)
    # Sent again: a new link; the first one no longer works.
    resent = admin.post(
        f"/admin/invitations/{invitation.id}/resend", data={"csrf_token": csrf(page)}
    )
    assert resent.status_code == 302
    _send(app, configure, port)
    second = _token(inbox)
    assert second != first
    gone = _choose(app, first)
    assert gone.status_code == 410 and "administrator" in gone.get_data(as_text=True)
    # Cancelled: the second stops working too.
    admin.post(f"/admin/invitations/{invitation.id}/cancel", data={"csrf_token": csrf(page)})
    assert _choose(app, second).status_code == 410
    # Expired: a third invitation, past its hours.
    _invite(admin, "two@hospital.test")
    _send(app, configure, port)
    third = _token(inbox)
    late = db.session.scalar(
        select(AccountInvitation).where(AccountInvitation.cancelled_at.is_(None))
    )
    assert late is not None
    late.expires_at = clock.now() - timedelta(minutes=1)
    db.session.commit()
    expired = _choose(app, third)
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    actions = {entry.action for entry in db.session.scalars(select(AdminJournalEntry))}
    assert {"account.invitation_resent", "account.invitation_cancelled"} <= actions


def test_only_an_admin_invites_and_only_to_their_own_teams(app: Flask) -> None:
    clinician = staff()
    db.session.commit()
    refused = _invite(_signed_in(app, clinician.id))
    assert refused.status_code == 403
    admin = _admin(app)
    assert _invite(admin, team="ward-b").status_code == 404  # a team the admin is not in
    assert _invite(admin, email="x" * 300 + "@hospital.test").status_code == 422
    assert db.session.scalar(select(AccountInvitation)) is None
    # Another team's pending invitation can be neither sent again nor cancelled.
    assert _invite(admin).status_code == 302
    invitation = db.session.scalar(select(AccountInvitation))
    assert invitation is not None
    outsider_id = staff("admin", team_slug="ward-b").id
    db.session.commit()
    outsider = _signed_in(app, outsider_id)
    token = csrf(outsider.get("/admin/accounts").get_data(as_text=True))
    for action in ("resend", "cancel"):
        answer = outsider.post(
            f"/admin/invitations/{invitation.id}/{action}", data={"csrf_token": token}
        )
        assert answer.status_code == 404, answer.location
    db.session.expire_all()
    assert db.session.get_one(AccountInvitation, invitation.id).cancelled_at is None
    # Without the form's CSRF token: refused.
    assert admin.post("/admin/accounts/invite", data={"email": "a@b.test"}).status_code == 400


def test_with_the_hospital_sign_on_the_email_sends_them_there_without_a_token(
    app: Flask,
    configure: Any,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    configure["CONSENT_OIDC_ISSUER"] = "https://sso.hospital.test"
    configure["CONSENT_OIDC_CLIENT_ID"] = "consent"
    admin = _admin(app)
    assert _invite(admin).status_code == 302
    message = db.session.scalar(select(EmailMessage).where(EmailMessage.kind == "account.invited"))
    assert message is not None and message.secret_sealed is None
    _send(app, configure, port)
    body = inbox.messages[-1][1].get_content()
    assert "/clinician/login" in body and not LINK.search(body)
    # Their first sign-in (the provider vouching for the e-mail) links the invited account
    # and uses the invitation; no password was ever set.
    identity = Identity(
        issuer="https://sso.hospital.test",
        subject="noa-1",
        email="new.nurse@hospital.test",
        email_verified=True,
        name="Noa Nurse",
        groups=("ward-nurses",),
    )
    account = sign_on(db.session, identity, parse_group_map("ward-nurses=ward-a:clinician"))
    db.session.commit()
    invitation = db.session.scalar(select(AccountInvitation))
    assert invitation is not None and invitation.account_id == account.id
    assert invitation.used_at is not None and account.password_hash is None


def test_the_password_form_is_rate_limited_like_the_log_in(
    app: Flask, configure: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited(app, monkeypatch, "login", "2/minute")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # CSRF: the first test
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    # Guessing tokens: every refused try counts, and the third is slowed down.
    answers = [
        client.post(f"/account/invitation/{'x' * 43}", data={"password": "p"}).status_code
        for _ in range(3)
    ]
    assert answers[-1] == 429, answers
