"""Rate limits (Flask-Limiter, consent.web.ratelimits): each limit answers 429 with Retry-After once
it is reached, in the one JSON shape under /api and as a page elsewhere; past the limit even a
right code or password waits for the window to pass; the counters are shared with callers
outside Flask's request cycle."""

from __future__ import annotations

import io
import itertools
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_limiter import RateLimitExceeded
from flask_limiter._limits import RuntimeLimit
from limits import parse
from werkzeug.security import generate_password_hash

from consent.db import db
from consent.errors import ConfigurationError
from consent.web import ratelimits
from tests.conftest import LiveSettings, dispose, make_app
from tests.factories import Flow, api_key, csrf, log_in, member, photo

PASSWORD = "correct horse battery staple"


def from_address(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def retry_after(response: Any) -> int:
    assert response.status_code == 429
    value = int(response.headers["Retry-After"])
    assert value >= 1
    return value


def limited(app: Flask, monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    LiveSettings(app, monkeypatch)[ratelimits.LIMITS[name]] = value


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def code_of(flow: Flow) -> str:
    url = flow.consent(photo(8), {"teaching": True})["withdrawal_url"]
    return str(url.split("#code=", 1)[1])


def post_code(client: FlaskClient, code: str) -> Any:
    page = client.get("/withdraw").get_data(as_text=True)
    return client.post("/withdraw", data={"csrf_token": csrf(page), "code": code})


def test_wrong_withdrawal_codes_are_limited_and_a_right_one_waits_for_the_window(
    app: Flask, flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited(app, monkeypatch, "withdrawal_code", "3 per 2 seconds")
    code = code_of(flow)
    guesser = app.test_client()
    for _ in range(3):
        assert post_code(guesser, "AAAA-BBBB-CCCC-DDDD-EEEE").status_code == 422
    refused = post_code(guesser, code)  # the right code, past the limit
    wait = retry_after(refused)
    assert wait <= 3  # the window, rounded up to whole seconds
    assert refused.mimetype == "text/html"
    assert "Too many tries" in refused.get_data(as_text=True)
    # Another address is not held back by this one's attempts.
    other = from_address(app, "192.0.2.7")
    assert post_code(other, code).status_code == 302
    time.sleep(wait + 0.1)
    assert post_code(guesser, code).status_code == 302


def test_a_right_code_is_not_counted(
    app: Flask, flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited(app, monkeypatch, "withdrawal_code", "2 per minute")
    code = code_of(flow)
    patient = app.test_client()
    for _ in range(4):
        assert post_code(patient, code).status_code == 302


def test_the_429_page_speaks_the_persons_language(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited(app, monkeypatch, "withdrawal_code", "1 per minute")
    person = app.test_client()
    page = person.get("/withdraw").get_data(as_text=True)
    person.post("/withdraw/language", data={"csrf_token": page and csrf(page), "lang": "fr"})
    post_code(person, "nope")
    refused = post_code(person, "nope")
    retry_after(refused)
    assert '<html lang="fr">' in refused.get_data(as_text=True)


@pytest.fixture
def doctor(app: Flask) -> str:
    account = member(email="dr.rl@hospital.test", display_name="Dr R", role="clinician")
    account.password_hash = generate_password_hash(PASSWORD)
    other = member(email="dr.ok@hospital.test", display_name="Dr O", role="clinician")
    other.password_hash = generate_password_hash(PASSWORD)
    db.session.commit()
    return str(account.email)


def test_failed_log_ins_are_limited_per_address(
    app: Flask, doctor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited(app, monkeypatch, "login", "3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert log_in(client, "someone@hospital.test", "wrong").status_code == 401
    refused = log_in(client, doctor, PASSWORD)  # right, but from an address past its limit
    assert retry_after(refused) <= 61
    assert "Too many tries" in refused.get_data(as_text=True)


def test_wrong_passwords_from_many_addresses_do_not_lock_the_owner_out(
    app: Flask, doctor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted per address (and per account and address, consent.accounts.logins), never per
    account alone: 30 addresses guessing do not stop the owner (issue 17)."""
    limited(app, monkeypatch, "login", "3 per minute")
    for n in range(30):
        spread = from_address(app, f"198.51.100.{n}")
        assert log_in(spread, doctor.upper(), "wrong").status_code == 401
    fresh = from_address(app, "198.51.100.99")
    assert log_in(fresh, doctor, PASSWORD).status_code == 302


def test_successful_log_ins_are_not_counted(
    app: Flask, doctor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited(app, monkeypatch, "login", "2 per minute")
    for _ in range(4):
        assert log_in(app.test_client(), doctor, PASSWORD).status_code == 302


def test_signing_links_that_fail_are_limited_per_address(
    app: Flask, flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited(app, monkeypatch, "signing_link", "2 per minute")
    patient = flow.patient()
    media = flow.media(patient, photo(9))
    url = flow.open_request(patient, [media["id"]], [{"purpose": "teaching"}])["signing_url"]
    tablet = app.test_client()
    for n in range(2):
        assert tablet.get(f"/tablet/s/guessed{n}").status_code == 410
    refused = tablet.get(url.removeprefix("http://consent.test"))
    retry_after(refused)
    assert refused.mimetype == "text/html"


def test_file_checks_are_limited_per_address(
    app: Flask, flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited(app, monkeypatch, "file_check", "2 per minute")
    consent_id = flow.consent(photo(10), {"teaching": True})["consent_id"]
    visitor = app.test_client()
    page = visitor.get(f"/v/{consent_id}").get_data(as_text=True)
    for _ in range(2):
        checked = visitor.post(
            f"/v/{consent_id}",
            data={"csrf_token": csrf(page), "file": (io.BytesIO(photo(10)), "a.jpg")},
        )
        assert checked.status_code == 200
    refused = visitor.post(
        f"/v/{consent_id}",
        data={"csrf_token": csrf(page), "file": (io.BytesIO(photo(10)), "a.jpg")},
    )
    retry_after(refused)


def test_an_api_429_has_the_json_error_shape_and_retry_after(app: Flask) -> None:
    limit = RuntimeLimit(parse("1 per minute"), key_func=lambda: "k", scope="test")
    with app.test_request_context("/api/v1/verify"):
        response = ratelimits.too_many_requests(RateLimitExceeded(limit))
    assert response.status_code == 429
    assert response.json == {
        "code": 429,
        "status": "Too Many Requests",
        "message": response.json["message"],
        "errors": {},
    }
    assert "try again in" in response.json["message"]
    assert int(response.headers["Retry-After"]) >= 1


def _hit(app: Flask, key: str) -> int | None:
    """One file check by ``key`` counted outside Flask, as the verify limit counts its calls."""
    return ratelimits.hit_limits(
        app, ratelimits.configured_limits(app, "file_check"), "file_check", key
    )


def test_hit_counts_outside_a_request_on_the_same_storage(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook for callers outside Flask's dispatch (the verify fast path's per-key limit)."""
    limited(app, monkeypatch, "file_check", "2 per minute;5 per hour")
    assert [str(item) for item in ratelimits.configured_limits(app, "file_check")] == [
        "2 per 1 minute",
        "5 per 1 hour",
    ]
    assert _hit(app, "key-a") is None
    assert _hit(app, "key-a") is None
    wait = _hit(app, "key-a")
    assert wait is not None and 1 <= wait <= 61
    assert _hit(app, "key-b") is None  # per key
    ratelimits.reset(app)
    assert _hit(app, "key-a") is None


def test_hit_and_the_routes_share_one_counter(
    app: Flask, flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited(app, monkeypatch, "file_check", "2 per minute")
    consent_id = flow.consent(photo(11), {"teaching": True})["consent_id"]
    visitor = from_address(app, "203.0.113.5")
    page = visitor.get(f"/v/{consent_id}").get_data(as_text=True)

    def check() -> Any:
        return visitor.post(
            f"/v/{consent_id}",
            data={"csrf_token": csrf(page), "file": (io.BytesIO(photo(11)), "a.jpg")},
        )

    assert _hit(app, "203.0.113.5") is None  # counted outside Flask
    assert check().status_code == 200  # the route's count: the second of two
    retry_after(check())
    assert _hit(app, "203.0.113.5") is not None


def test_a_limit_that_does_not_parse_stops_the_start(app: Flask) -> None:
    from tests.conftest import make_app

    with pytest.raises(ConfigurationError, match="CONSENT_RATELIMIT_LOGIN"):
        make_app(
            app.instance_path,  # type: ignore[arg-type]
            app.config["SQLALCHEMY_DATABASE_URI"],
            CONSENT_RATELIMIT_LOGIN="often",
        )


_ACCOUNTS = itertools.count()


def _failed_log_ins_then_one_more(app: Flask, forwarded_for: list[str]) -> list[int]:
    """Failed log-ins all sent by one proxy (10.0.0.1), each naming a client in X-Forwarded-For;
    the statuses they get."""
    client = from_address(app, "10.0.0.1")
    statuses = []
    for client_address in forwarded_for:
        page = client.get("/clinician/login").get_data(as_text=True)
        # A new account each time: only the per-address counter is at work.
        email = f"nobody.{next(_ACCOUNTS)}@hospital.test"
        statuses.append(
            client.post(
                "/clinician/login",
                data={"csrf_token": csrf(page), "email": email, "password": "no"},
                headers={"X-Forwarded-For": client_address},
            ).status_code
        )
    return statuses


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client writing its own X-Forwarded-For does not get a fresh counter with each value.
    limited(app, monkeypatch, "login", "3 per minute")
    spoofed = [f"203.0.113.{n}" for n in range(4)]
    assert _failed_log_ins_then_one_more(app, spoofed) == [401, 401, 401, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_counter(
    app: Flask, instance_dir: Any, database_url: str
) -> None:
    proxied = make_app(
        instance_dir,
        database_url,
        CONSENT_TRUSTED_PROXIES=1,
        CONSENT_RATELIMIT_LOGIN="3 per minute",
    )
    try:
        ratelimits.reset(proxied)
        first = ["203.0.113.7"] * 4
        assert _failed_log_ins_then_one_more(proxied, first) == [401, 401, 401, 429]
        # Another client behind the same proxy; and a client that prepends a forged entry is
        # still counted by the address the proxy saw (the entry nearest the proxy).
        assert _failed_log_ins_then_one_more(proxied, ["203.0.113.8"]) == [401]
        assert _failed_log_ins_then_one_more(proxied, ["198.51.100.1, 203.0.113.7"]) == [429]
    finally:
        dispose(proxied)


@pytest.mark.parametrize("count", [-1, 6, "1", 1.5, True])
def test_a_proxy_count_that_is_not_a_small_whole_number_stops_the_start(
    instance_dir: Any, database_url: str, count: Any
) -> None:
    with pytest.raises(ConfigurationError, match="CONSENT_TRUSTED_PROXIES"):
        make_app(instance_dir, database_url, CONSENT_TRUSTED_PROXIES=count)
