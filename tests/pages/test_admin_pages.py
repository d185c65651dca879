"""The admin pages: API keys issued (shown once), listed and revoked; integrations; accounts
disabled; memberships added and removed. Administrators only."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from consent.accounts.keys import _recent_keys
from consent.accounts.models import ApiKey, Integration
from consent.accounts.teams import teams_of
from consent.db import db
from tests.factories import care_team, key_for, staff


def _signed_in(app: Flask, account_id: int) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(account_id)
        session["_fresh"] = True
    return client


@pytest.fixture
def admin(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    account = staff("admin", name="Ada Admin")
    db.session.commit()
    return _signed_in(app, account.id)


def _verify(client: FlaskClient, secret: str) -> int:
    answer = client.get(
        "/api/v1/verify?sha256=" + "0" * 64 + "&purpose=teaching",
        headers={"Authorization": f"Bearer {secret}"},
    )
    return answer.status_code


def test_a_clinician_is_refused_the_admin_pages(app: Flask) -> None:
    clinician = staff()
    db.session.commit()
    client = _signed_in(app, clinician.id)
    for path in ("/admin/", "/admin/keys", "/admin/accounts", "/admin/teams"):
        assert client.get(path).status_code == 403
    assert app.test_client().get("/admin/keys").status_code == 302


def test_a_key_issued_on_the_page_is_shown_once_and_works(app: Flask, admin: FlaskClient) -> None:
    holder = staff(name="Dr Key Holder")
    db.session.commit()
    answer = admin.post(
        "/admin/keys",
        data={
            "name": "Dr Holder's tool",
            "team": "ward-a",
            "holder": f"account:{holder.id}",
            "scopes": ["verify", "consents:write"],
            "days": "30",
        },
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    secret = re.search(r"csk_[A-Za-z0-9_-]{40,}", page)
    assert secret is not None
    assert _verify(app.test_client(), secret.group(0)) == 200
    listing = admin.get("/admin/keys").get_data(as_text=True)
    assert "Dr Holder&#39;s tool" in listing and secret.group(0) not in listing
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "Dr Holder's tool"))
    assert key is not None and key.scopes == "consents:write,verify"
    assert key.last_used_at is not None


def test_a_key_for_an_account_outside_the_team_is_refused_with_the_form(
    app: Flask, admin: FlaskClient
) -> None:
    outsider = staff(team_slug="ward-b")
    db.session.commit()
    answer = admin.post(
        "/admin/keys",
        data={
            "name": "x",
            "team": "ward-a",
            "holder": f"account:{outsider.id}",
            "scopes": ["verify"],
            "days": "30",
        },
    )
    assert answer.status_code == 422 and "not a member" in answer.get_data(as_text=True)
    assert db.session.scalar(select(ApiKey)) is None


def test_a_revoked_key_stops_working_within_the_cache_lifetime(
    app: Flask, admin: FlaskClient
) -> None:
    integration = Integration(id="in_publisher", team_id=care_team().id, name="Publisher")
    db.session.add(integration)
    db.session.commit()
    page = admin.post(
        "/admin/keys",
        data={
            "name": "publisher",
            "team": "ward-a",
            "holder": "integration:in_publisher",
            "scopes": ["verify"],
            "days": "30",
        },
    ).get_data(as_text=True)
    secret = re.search(r"csk_[A-Za-z0-9_-]{40,}", page)
    assert secret is not None
    api = app.test_client()
    assert _verify(api, secret.group(0)) == 200  # now remembered by this worker
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "publisher"))
    assert key is not None
    confirm = admin.get(f"/admin/keys/{key.id}/revoke").get_data(as_text=True)
    assert "Revoke the key publisher?" in confirm
    assert admin.post(f"/admin/keys/{key.id}/revoke").status_code == 302
    # Until the cache lifetime (CONSENT_API_KEY_CACHE_SECONDS) has passed, a worker that saw the
    # key may still take it; once it has, every worker asks the database and refuses it.
    for key_hash, (caller, _until, expires_at) in list(_recent_keys.items()):
        _recent_keys[key_hash] = (caller, 0.0, expires_at)
    assert _verify(api, secret.group(0)) == 401
    listing = admin.get("/admin/keys").get_data(as_text=True)
    assert "revoked" in listing


def test_integrations_accounts_and_memberships_are_managed_on_the_pages(
    app: Flask, admin: FlaskClient
) -> None:
    care_team("ward-b")
    person = staff(name="Dr Moving")
    db.session.commit()
    assert (
        admin.post("/admin/integrations", data={"name": "EHR", "team": "ward-b"}).status_code == 302
    )
    assert "EHR" in admin.get("/admin/integrations").get_data(as_text=True)
    assert (
        admin.post("/admin/teams/ward-b/members", data={"email": person.email}).status_code == 302
    )
    assert [team.slug for team in teams_of(db.session, person.id)] == ["ward-a", "ward-b"]
    removed = admin.post(f"/admin/teams/ward-a/members/{person.id}/remove")
    assert removed.status_code == 302
    assert [team.slug for team in teams_of(db.session, person.id)] == ["ward-b"]
    assert (
        admin.post("/admin/teams/nowhere/members", data={"email": person.email}).status_code == 404
    )
    # Disabled: their session ends and they cannot log in.
    moving = _signed_in(app, person.id)
    assert moving.get("/clinician/").status_code == 200
    assert admin.post(f"/admin/accounts/{person.id}/disable").status_code == 302
    assert moving.get("/clinician/").status_code == 302
    assert "disabled" in admin.get("/admin/accounts").get_data(as_text=True)
    assert admin.post(f"/admin/accounts/{person.id}/enable").status_code == 302
    assert moving.get("/clinician/").status_code == 200


def test_the_admin_pages_are_in_french(app: Flask, admin: FlaskClient) -> None:
    with admin.session_transaction() as session:
        session["lang"] = "fr"
    page = admin.get("/admin/keys").get_data(as_text=True)
    assert "Clés d\u2019API" in page and "Nouvelle clé d\u2019API" in page


def test_a_disabled_accounts_keys_are_refused_once_the_cache_lifetime_passed(
    app: Flask, admin: FlaskClient
) -> None:
    holder = staff(name="Dr Leaving")
    db.session.commit()
    secret = key_for(holder, ("verify",))
    db.session.commit()
    api = app.test_client()
    assert _verify(api, secret) == 200
    assert admin.post(f"/admin/accounts/{holder.id}/disable").status_code == 302
    for key_hash, (caller, _until, expires_at) in list(_recent_keys.items()):
        _recent_keys[key_hash] = (caller, 0.0, expires_at)
    assert _verify(api, secret) == 401
    admin.post(f"/admin/accounts/{holder.id}/enable")
    assert _verify(api, secret) == 200


def test_an_admin_cannot_disable_their_own_account(app: Flask, admin: FlaskClient) -> None:
    with admin.session_transaction() as session:
        own = int(session["_user_id"])
    admin.post(f"/admin/accounts/{own}/disable")
    assert admin.get("/admin/accounts").status_code == 200
