"""The verify fast path (consent/verify/fastpath.py) answers exactly as the Flask route does,
leaves every other request and every failure to Flask, and is told about every new Flask hook."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent import clock
from consent.web.requestlog import RequestLog
from consent.web.securityheaders import SecurityHeaders
from tests.factories import Flow, api_key, auth, photo

# The request hooks the fast path is known to make unnecessary, and why:
# - fresh_globals: the tests' own hook (conftest), which empties `g`; the fast path's fresh app
#   context has an empty `g` already.
# - csrf_protect: CSRF guards HTML forms; a GET needs none.
# - _update_remember_cookie: clinician log-ins; the API sets no cookie.
# - _check_request_limit, __inject_headers, __release_context: Flask-Limiter (web.ratelimits).
#   No Flask-Limiter limit applies to GET /api/v1/verify (no default or application-wide
#   limits, only per-route ones) and rate-limit headers are off. The verify limit per API key
#   is consent.web.verifylimit, counted in the fast path itself (tests/verify/test_ratelimit.py).
# - _mark_route: the URL rule for the metrics (web.metrics); the fast path marks its own.
# - refuse_unreadable_text: control characters and lone surrogates (web.textinput); the fast
#   path takes only plain queries ([A-Za-z0-9._-] values), which hold neither.
# - follow_the_key_file: a rotated key file read again (web.keywatch); the fast path takes its
#   keyring through the same watch (tests/pages/test_key_rotation_page.py).
# A new hook (a rate limit, a security header, a log line) fails this test until the fast path
# does what the hook does for GET /api/v1/verify and the hook is added here.
KNOWN_HOOKS = {
    "before_request": {
        "fresh_globals",
        "csrf_protect",
        "_check_request_limit",
        "_mark_route",
        "refuse_unreadable_text",
        "follow_the_key_file",
    },
    "after_request": {"_update_remember_cookie", "__inject_headers"},
    "teardown_request": {"__release_context"},
    "url_value_preprocessor": set(),
}


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def _hook_names(app: Flask) -> dict[str, set[str]]:
    def names(functions: dict[Any, list[Any]]) -> set[str]:
        # Flask-Limiter registers a functools.partial: name it by the function it wraps.
        return {
            getattr(function, "__name__", None) or function.func.__name__
            for group in functions.values()
            for function in group
        }

    return {
        "before_request": names(app.before_request_funcs),
        "after_request": names(app.after_request_funcs),
        "teardown_request": names(app.teardown_request_funcs),
        "url_value_preprocessor": names(app.url_value_preprocessors),
    }


def test_every_flask_hook_is_known_to_the_fast_path(app: Flask) -> None:
    assert _hook_names(app) == KNOWN_HOOKS


def test_the_answer_is_byte_for_byte_the_flask_routes(
    app: Flask, flow: Flow, flask_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    given = flow.consent(photo(1), {"teaching": True, "public_social_network": False})
    sha = given["media"]["sha256"]
    moment = clock.now() + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: moment)  # one checked_at for both answers
    url = f"/api/v1/verify?sha256={sha}&purpose=teaching"
    del flask_calls[:]
    fast = flow.client.get(url, headers={**flow.headers, "X-Request-ID": "support-42"})
    assert flask_calls == []  # answered in front of Flask
    flask_path = app.wsgi_app.wsgi_app.wsgi_app.flask_wsgi_app  # type: ignore[attr-defined]
    slow = app.response_class.from_app(
        RequestLog(SecurityHeaders(flask_path, public_url_is_https=False)),
        {
            **flow.client.environ_base,
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/api/v1/verify",
            "QUERY_STRING": url.split("?", 1)[1],
            "HTTP_AUTHORIZATION": flow.headers["Authorization"],
            "HTTP_X_REQUEST_ID": "support-42",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
        },
    )
    assert fast.status_code == slow.status_code == 200
    assert fast.get_data() == slow.get_data()
    assert sorted(fast.headers.items()) == sorted(slow.headers.items())
    assert fast.json["answer"]["decision"] == "allowed"


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ("sha256={sha}&purpose=teaching", {}, 401),  # no key
        ("sha256={sha}&purpose=teaching", {"Authorization": "Bearer nope"}, 401),
        ("sha256={sha}&purpose=cinema", None, 422),
        ("sha256=abc&purpose=teaching", None, 422),
        ("purpose=teaching", None, 422),
    ],
)
def test_failures_are_answered_by_flask_in_the_one_error_shape(
    flow: Flow, flask_calls: list[str], query: str, headers: dict[str, str] | None, status: int
) -> None:
    sha = flow.consent(photo(2), {"teaching": True})["media"]["sha256"]
    del flask_calls[:]
    response = flow.client.get(
        "/api/v1/verify?" + query.format(sha=sha),
        headers=flow.headers if headers is None else headers,
    )
    assert response.status_code == status
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert flask_calls == ["/api/v1/verify"]


def test_a_key_without_the_verify_scope_is_refused(flow: Flow) -> None:
    sha = flow.consent(photo(3), {"teaching": True})["media"]["sha256"]
    response = flow.client.get(
        f"/api/v1/verify?sha256={sha}&purpose=teaching",
        headers=auth(api_key(("consents:write",))),
    )
    assert response.status_code == 403


def test_queries_that_need_decoding_go_to_flask_and_get_its_answer(
    flow: Flow, flask_calls: list[str]
) -> None:
    given = flow.consent(
        photo(4), {"public_social_network": True}, channels={"public_social_network": ["linkedin"]}
    )
    sha = given["media"]["sha256"]
    del flask_calls[:]
    # Percent-escaped, and a repeated name (Flask reads the first value): both Flask's to parse.
    encoded = flow.client.get(
        f"/api/v1/verify?sha256={sha}&purpose=public%5Fsocial%5Fnetwork&channel=linkedin",
        headers=flow.headers,
    )
    repeated = flow.client.get(
        f"/api/v1/verify?sha256={sha}&purpose=public_social_network&channel=linkedin&channel=x",
        headers=flow.headers,
    )
    assert flask_calls == ["/api/v1/verify", "/api/v1/verify"]
    assert encoded.json["answer"]["decision"] == "allowed"
    assert repeated.json["answer"]["channel"] == "linkedin"
    assert repeated.json["answer"]["decision"] == "allowed"


def test_other_paths_and_methods_go_to_flask(flow: Flow, flask_calls: list[str]) -> None:
    del flask_calls[:]
    flow.client.get("/.well-known/consent-keys")
    flow.client.post("/api/v1/verify", headers=flow.headers)
    assert flask_calls == ["/.well-known/consent-keys", "/api/v1/verify"]


def test_a_withdrawal_shows_at_once_on_the_fast_path(flow: Flow, flask_calls: list[str]) -> None:
    given = flow.consent(photo(5), {"teaching": True})
    sha = given["media"]["sha256"]
    assert flow.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal",
        json={"purposes": ["teaching"]},
        headers=flow.headers,
    )
    del flask_calls[:]
    assert flow.verify(sha, "teaching")["answer"]["decision"] == "withdrawn"
    assert flask_calls == []


def test_a_key_is_looked_up_by_flask_first_then_trusted_for_a_few_seconds(
    flow: Flow, flask_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = flow.consent(photo(6), {"teaching": True})["media"]["sha256"]
    publisher = auth(api_key(("verify",), days=1))
    url = f"/api/v1/verify?sha256={sha}&purpose=teaching"
    del flask_calls[:]
    assert flow.client.get(url, headers=publisher).status_code == 200
    assert flow.client.get(url, headers=publisher).status_code == 200
    assert flask_calls == ["/api/v1/verify"]  # the first call only
    # Past its expiry the remembered key is not trusted: Flask refuses it, at once.
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert flow.client.get(url, headers=publisher).status_code == 401
    assert flask_calls == ["/api/v1/verify", "/api/v1/verify"]
