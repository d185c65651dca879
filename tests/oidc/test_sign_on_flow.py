"""Hospital sign-on end to end against a real OpenID provider (node's oidc-provider): the
authorization code flow with PKCE, state and nonce; accounts created and matched; groups
mapped to teams and roles; and the refusals (state mismatch, replayed callback, a code
exchanged without its PKCE verifier, groups mapped to nothing, passwords switched off)."""

from __future__ import annotations

import base64
import hashlib
import http.cookiejar
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.accounts.models import Account, Membership, Team
from consent.accounts.teams import teams_of
from consent.db import db
from tests.factories import care_team, staff
from tests.oidc.support import CLIENT_ID, CLIENT_SECRET, configure_sign_on, sign_on_settings

PUBLIC = "http://127.0.0.1:5000"
CALLBACK = f"{PUBLIC}/clinician/login/oidc/callback"


class _Stop(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class ProviderBrowser:
    """Fills the provider's own log-in and consent pages, as a person would, with cookies."""

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _Stop
        )

    def open(self, url: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(url, data=data, timeout=10) as answer:
                return answer.status, "", answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location", ""), exc.read().decode()

    def sign_in(self, authorize_url: str, login: str) -> str:
        """Log in at the provider and consent; the callback URL it sends the browser to."""
        url, form = authorize_url, None
        for _ in range(12):
            status, location, body = self.open(url, form)
            if location.startswith(CALLBACK):
                return location
            if location:
                url, form = urllib.parse.urljoin(url, location), None
                continue
            action = re.search(r'<form[^>]*action="([^"]+)"', body)
            assert action, f"no form on the provider's page ({status}): {body[:300]}"
            url = urllib.parse.urljoin(url, action.group(1))
            form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))
            if 'name="login"' in body:
                form |= {"login": login, "password": "any"}
        raise AssertionError("the provider never sent the browser back")


def _start(client: FlaskClient) -> str:
    answer = client.get("/clinician/login/oidc")
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return str(answer.location)


def _callback(client: FlaskClient, url: str) -> Any:
    parts = urllib.parse.urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


@pytest.fixture
def provider(
    app: Flask, monkeypatch: pytest.MonkeyPatch, oidc_provider: Callable[[str], str]
) -> str:
    issuer = oidc_provider(CALLBACK)
    configure_sign_on(app, monkeypatch, issuer, CONSENT_PUBLIC_URL=PUBLIC)
    care_team("cardiology")
    db.session.commit()
    return issuer


def test_a_clinician_signs_in_through_the_provider_and_gets_the_mapped_team(
    app: Flask, client: FlaskClient, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    page = client.get("/clinician/login").get_data(as_text=True)
    assert "Sign in with Demo Hospital ID" in page
    authorize = _start(client)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    assert authorize.startswith(provider + "/auth?")
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and query["redirect_uri"] == CALLBACK
    done = _callback(client, ProviderBrowser().sign_in(authorize, "cardio.doc"))
    assert done.status_code == 302 and done.location.endswith("/clinician/")
    dashboard = client.get("/clinician/")
    assert dashboard.status_code == 200 and "Dr Cardio Doc" in dashboard.get_data(as_text=True)
    account = db.session.scalar(select(Account).where(Account.oidc_subject == "cardio.doc"))
    assert account is not None and account.oidc_issuer == provider
    assert account.role == "clinician" and account.password_hash is None
    assert [team.slug for team in teams_of(db.session, account.id)] == ["cardiology"]
    # The client secret is sent to the provider only: never logged, never stored.
    assert CLIENT_SECRET not in caplog.text


def test_the_next_sign_in_finds_the_same_account_and_syncs_its_memberships(
    app: Flask, client: FlaskClient, provider: str
) -> None:
    _callback(client, ProviderBrowser().sign_in(_start(client), "cardio.doc"))
    account = db.session.scalar(select(Account).where(Account.oidc_subject == "cardio.doc"))
    assert account is not None
    # Made a member of another team by hand: the provider's groups are the source.
    other = care_team("ward-b")
    db.session.add(Membership(account_id=account.id, team_id=other.id))
    db.session.commit()
    _callback(client, ProviderBrowser().sign_in(_start(client), "cardio.doc"))
    db.session.expire_all()
    assert db.session.scalars(select(Account).where(Account.email.like("cardio.doc%"))).all() == [
        account
    ]
    assert [team.slug for team in teams_of(db.session, account.id)] == ["cardiology"]


def test_an_admin_group_gives_the_admin_role_and_no_patients(
    client: FlaskClient, provider: str
) -> None:
    _callback(client, ProviderBrowser().sign_in(_start(client), "consent.admin"))
    account = db.session.scalar(select(Account).where(Account.oidc_subject == "consent.admin"))
    assert account is not None and account.role == "admin"
    assert teams_of(db.session, account.id) == []
    assert client.get("/admin/").status_code == 200


def test_a_local_account_is_linked_by_the_verified_email(
    client: FlaskClient, provider: str
) -> None:
    local = staff(team_slug="cardiology")
    local.email = "cardio.doc@hospital.test"
    db.session.commit()
    _callback(client, ProviderBrowser().sign_in(_start(client), "cardio.doc"))
    db.session.expire_all()
    assert local.oidc_subject == "cardio.doc"


def test_a_local_account_is_not_taken_over_by_an_unverified_email(
    client: FlaskClient, provider: str
) -> None:
    local = staff(team_slug="cardiology")
    local.email = "unverified.doc@hospital.test"
    db.session.commit()
    answer = _callback(client, ProviderBrowser().sign_in(_start(client), "unverified.doc"))
    assert answer.status_code == 403 and "cannot be linked" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert local.oidc_subject is None
    assert client.get("/clinician/").status_code == 302


def test_groups_that_map_to_nothing_are_refused_with_a_clear_page(
    client: FlaskClient, provider: str
) -> None:
    answer = _callback(client, ProviderBrowser().sign_in(_start(client), "visitor"))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 403 and "in no group that gives access" in page
    assert db.session.scalar(select(Account).where(Account.oidc_subject == "visitor")) is None
    assert client.get("/clinician/").status_code == 302


def test_a_callback_with_another_state_is_refused(client: FlaskClient, provider: str) -> None:
    callback = ProviderBrowser().sign_in(_start(client), "cardio.doc")
    forged = re.sub(r"state=[^&]+", "state=attacker-state", callback)
    answer = _callback(client, forged)
    assert answer.status_code == 403 and "(state)" in answer.get_data(as_text=True)
    assert client.get("/clinician/").status_code == 302


def test_a_callback_in_a_browser_that_did_not_start_the_sign_in_is_refused(
    app: Flask, client: FlaskClient, provider: str
) -> None:
    """Login CSRF: an attacker's own code and state, pushed into the victim's browser."""
    callback = ProviderBrowser().sign_in(_start(client), "visitor")
    victim = app.test_client()
    answer = _callback(victim, callback)
    assert answer.status_code == 403 and "not started in this browser" in answer.get_data(
        as_text=True
    )


def test_a_replayed_callback_is_refused(client: FlaskClient, provider: str) -> None:
    callback = ProviderBrowser().sign_in(_start(client), "cardio.doc")
    assert _callback(client, callback).status_code == 302
    answer = _callback(client, callback)
    assert answer.status_code == 403 and "already used" in answer.get_data(as_text=True)


def test_the_provider_refuses_a_code_without_its_pkce_verifier(
    client: FlaskClient, provider: str
) -> None:
    """Missing PKCE: a stolen code, exchanged without the verifier kept in the browser."""
    callback = ProviderBrowser().sign_in(_start(client), "cardio.doc")
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))["code"]
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    for extra in ({}, {"code_verifier": "a" * 43}):
        request = urllib.request.Request(  # noqa: S310 (the test's own provider)
            f"{provider}/token",
            data=urllib.parse.urlencode(
                {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK} | extra
            ).encode(),
            headers={"Authorization": f"Basic {basic}"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        assert json.loads(refused.value.read())["error"] == "invalid_grant"


def test_the_provider_refuses_an_authorization_request_without_pkce(provider: str) -> None:
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "state": "s",
            "nonce": "n",
        }
    )
    _status, location, _body = ProviderBrowser().open(f"{provider}/auth?{query}")
    assert location.startswith(CALLBACK) and "error=invalid_request" in location


def test_the_challenge_sent_is_the_s256_of_the_verifier_kept(
    client: FlaskClient, provider: str
) -> None:
    authorize = _start(client)
    with client.session_transaction() as session:
        verifier = session["oidc_pending"]["verifier"]
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert f"code_challenge={expected}" in authorize


def test_with_local_passwords_off_the_form_is_hidden_and_its_post_refused(
    app: Flask, client: FlaskClient, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_on_settings(app, monkeypatch, CONSENT_LOCAL_PASSWORDS=False)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # the refusal, not the token
    account = staff()
    from werkzeug.security import generate_password_hash

    account.password_hash = generate_password_hash("correct horse battery")
    db.session.commit()
    page = client.get("/clinician/login").get_data(as_text=True)
    assert 'name="password"' not in page and "Sign in with Demo Hospital ID" in page
    answer = client.post(
        "/clinician/login", data={"email": account.email, "password": "correct horse battery"}
    )
    assert answer.status_code == 403
    assert client.get("/clinician/").status_code == 302


def test_without_sign_on_configured_its_routes_do_not_exist(client: FlaskClient) -> None:
    assert client.get("/clinician/login/oidc").status_code == 404
    assert "Sign in with" not in client.get("/clinician/login").get_data(as_text=True)


def test_a_disabled_account_cannot_sign_on(client: FlaskClient, provider: str) -> None:
    _callback(client, ProviderBrowser().sign_in(_start(client), "cardio.doc"))
    account = db.session.scalar(select(Account).where(Account.oidc_subject == "cardio.doc"))
    assert account is not None
    from consent.accounts.service import disable_account

    disable_account(db.session, account)
    db.session.commit()
    # The open session ends, and a new sign-in is refused.
    assert client.get("/clinician/").status_code == 302
    answer = _callback(client, ProviderBrowser().sign_in(_start(client), "cardio.doc"))
    assert answer.status_code == 403 and "disabled" in answer.get_data(as_text=True)
    assert db.session.scalar(select(Team).where(Team.slug == "cardiology")) is not None


def test_a_provider_that_cannot_be_reached_gives_a_clear_page(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.oidc.support import free_port

    configure_sign_on(app, monkeypatch, f"http://127.0.0.1:{free_port()}")
    answer = client.get("/clinician/login/oidc")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 502 and "cannot be reached" in page
    assert "Back to the log-in page" in page
