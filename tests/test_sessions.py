"""Staff sessions and cookies: every cookie is SameSite=Lax and Secure over https; a session
copied before a log-out, a new password or the account being disabled opens nothing, on any
worker; forms work over https with the Referer the page's policy lets browsers send; wrong
passwords from elsewhere never lock the owner out, and the owner is told of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.security import generate_password_hash

from consent.db import db
from tests.conftest import dispose, make_app
from tests.factories import auth, csrf, issue_key, log_in, member

PASSWORD = "a long and quiet river at dawn"
NEW_PASSWORD = "seven green parrots sing loudly"
HTTPS = "https://consent.test"


@pytest.fixture
def doctor(app: Flask) -> str:
    account = member(email="dr.sess@hospital.test", display_name="Dr S", role="clinician")
    account.password_hash = generate_password_hash(PASSWORD)
    db.session.commit()
    return str(account.email)


@pytest.fixture
def https_app(app: Flask, instance_dir: Path, database_url: str) -> Iterator[Flask]:
    """The service as deployed behind TLS (same database as ``app``)."""
    served = make_app(instance_dir, database_url, CONSENT_PUBLIC_URL=HTTPS)
    yield served
    dispose(served)


def cookies_set(response: Any) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_every_cookie_over_https_is_secure_samesite_lax_and_httponly(
    https_app: Flask, doctor: str
) -> None:
    client = https_app.test_client()
    seen = cookies_set(client.get("/clinician/login", base_url=HTTPS))
    referer = {"Referer": f"{HTTPS}/clinician/login"}
    page = client.get("/clinician/login", base_url=HTTPS).get_data(as_text=True)
    logged = client.post(
        "/clinician/login",
        data={"csrf_token": csrf(page), "email": doctor, "password": PASSWORD},
        base_url=HTTPS,
        headers=referer,
    )
    assert logged.status_code == 302
    seen += cookies_set(logged)
    seen += cookies_set(client.get("/withdraw", base_url=HTTPS))
    assert seen
    for cookie in seen:
        assert "; Secure" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie, cookie


def test_every_cookie_over_http_is_samesite_lax(client: FlaskClient, doctor: str) -> None:
    seen = cookies_set(client.get("/clinician/login"))
    seen += cookies_set(log_in(client, doctor, PASSWORD))
    seen += cookies_set(client.get("/withdraw"))
    assert seen
    for cookie in seen:
        assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie


def test_forms_over_https_work_with_the_referer_the_policy_lets_browsers_send(
    https_app: Flask, doctor: str
) -> None:
    client = https_app.test_client()
    page = client.get("/clinician/login", base_url=HTTPS)
    # same-origin: a browser sends the page's address as Referer to the service itself only.
    assert page.headers["Referrer-Policy"] == "same-origin"
    token = csrf(page.get_data(as_text=True))
    form = {"csrf_token": token, "email": doctor, "password": PASSWORD}

    def post(headers: dict[str, str]) -> int:
        response = client.post("/clinician/login", data=form, base_url=HTTPS, headers=headers)
        return int(response.status_code)

    # A forged form on another site, or one whose Referer was stripped: refused.
    assert post({"Referer": "https://evil.example/form"}) == 400
    assert post({}) == 400
    assert post({"Referer": f"{HTTPS}/clinician/login"}) == 302


def copied_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def with_cookie(app: Flask, value: str) -> FlaskClient:
    thief = app.test_client()
    thief.set_cookie("session", value, domain="localhost")
    return thief


def opens_the_pages(client: FlaskClient) -> bool:
    response = client.get("/clinician/")
    return bool(response.status_code == 200)


def test_cookie_copied_before_logout_no_longer_opens_the_pages(
    app: Flask, client: FlaskClient, doctor: str
) -> None:
    assert log_in(client, doctor, PASSWORD).status_code == 302
    copied = copied_cookie(client)
    assert opens_the_pages(with_cookie(app, copied))
    page = client.get("/clinician/").get_data(as_text=True)
    assert client.post("/clinician/logout", data={"csrf_token": csrf(page)}).status_code == 302
    assert not opens_the_pages(with_cookie(app, copied))


def test_logout_on_one_worker_ends_the_session_on_another(
    app: Flask, client: FlaskClient, doctor: str, instance_dir: Path, database_url: str
) -> None:
    other_worker = make_app(instance_dir, database_url)
    try:
        assert log_in(client, doctor, PASSWORD).status_code == 302
        there = with_cookie(other_worker, copied_cookie(client))
        assert opens_the_pages(there)
        page = client.get("/clinician/").get_data(as_text=True)
        client.post("/clinician/logout", data={"csrf_token": csrf(page)})
        assert not opens_the_pages(there)
    finally:
        dispose(other_worker)


def test_new_password_ends_every_session(app: Flask, runner: FlaskCliRunner, doctor: str) -> None:
    desk, laptop = app.test_client(), app.test_client()
    assert (
        log_in(desk, doctor, PASSWORD).status_code == 302
        and log_in(laptop, doctor, PASSWORD).status_code == 302
    )
    result = runner.invoke(args=["set-password", "--email", doctor, "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert not opens_the_pages(desk) and not opens_the_pages(laptop)
    assert log_in(app.test_client(), doctor, PASSWORD).status_code == 401
    assert log_in(app.test_client(), doctor, NEW_PASSWORD).status_code == 302


def test_disabled_account_loses_its_sessions_keys_and_log_in(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, doctor: str, configure: Any
) -> None:
    from consent.accounts.service import account_by_email

    configure["CONSENT_API_KEY_CACHE_SECONDS"] = 0  # every call checked against the database
    key = issue_key(
        name="tool",
        scopes=["consents:write"],
        days=30,
        account=account_by_email(db.session, doctor),
    ).secret
    db.session.commit()
    assert log_in(client, doctor, PASSWORD).status_code == 302
    assert client.get("/api/v1/forms", headers=auth(key)).status_code == 200
    result = runner.invoke(args=["disable-account", "--email", doctor])
    assert result.exit_code == 0, result.output
    assert not opens_the_pages(client)
    assert log_in(app.test_client(), doctor, PASSWORD).status_code == 401
    assert client.get("/api/v1/forms", headers=auth(key)).status_code == 401


def from_address(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_wrong_passwords_from_elsewhere_never_lock_the_owner_out(app: Flask, doctor: str) -> None:
    attacker = from_address(app, "203.0.113.66")
    statuses = [log_in(attacker, doctor, "not the password").status_code for _ in range(8)]
    # A few tries, then the attacker waits, longer after each failure.
    assert statuses[:3] == [401, 401, 401] and 429 in statuses[3:]
    slowed = log_in(attacker, doctor, PASSWORD)  # even the right password waits from there
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1
    spread = [
        log_in(from_address(app, f"198.51.100.{n}"), doctor, "guess").status_code for n in range(30)
    ]
    assert set(spread) == {401}
    # The owner, from their own address, gets in at once ...
    owner = from_address(app, "192.0.2.10")
    assert log_in(owner, doctor, PASSWORD).status_code == 302
    # ... and is told of the failed attempts since their last log-in.
    page = owner.get("/clinician/").get_data(as_text=True)
    # 8 from the attacker's address (those refused before the password was checked are not
    # wrong passwords: 3 + the ones let through after each wait) and 30 spread: every one
    # counted, the latest listed.
    assert "wrong password for your account" in page and "198.51.100.29" in page
    count = int(re.search(r"for your account (\d+) times", page).group(1))  # type: ignore[union-attr]
    assert count >= 33
    # Shown once.
    assert "wrong password for your account" not in owner.get("/clinician/").get_data(as_text=True)


def test_the_attackers_delay_grows(
    app: Flask, doctor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from consent import clock

    attacker = from_address(app, "203.0.113.67")
    real = clock.now
    offset = timedelta()
    monkeypatch.setattr(clock, "now", lambda: real() + offset)
    waits = []
    for _ in range(6):
        response = log_in(attacker, doctor, "not the password")
        while response.status_code == 429:
            seconds = int(response.headers["Retry-After"])
            waits.append(seconds)
            offset += timedelta(seconds=seconds)
            response = log_in(attacker, doctor, "not the password")
        assert response.status_code == 401
    assert waits == sorted(waits) and waits[-1] > waits[0]
