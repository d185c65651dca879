"""Verify calls are limited per API key, counted once per call on either path (issue 7)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent.web import ratelimits, verifylimit
from consent.web.extensions import limiter
from consent.web.verifylimit import EXTENSION, VerifyLimit
from tests.factories import Flow, api_key, auth, photo

LIMIT = 4


@pytest.fixture
def limited(app: Flask) -> Iterator[None]:
    normal = app.extensions[EXTENSION]
    app.extensions[EXTENSION] = VerifyLimit(f"{LIMIT} per minute")
    yield
    app.extensions[EXTENSION] = normal


def _verify(client: FlaskClient, headers: dict[str, str], sha256: str) -> tuple[int, dict, str]:
    response = client.get(f"/api/v1/verify?sha256={sha256}&purpose=teaching", headers=headers)
    return response.status_code, response.json or {}, response.headers.get("Retry-After", "")


def test_a_key_over_its_limit_gets_429_with_retry_after_and_others_go_on(
    client: FlaskClient, limited: None, flask_calls: list[str]
) -> None:
    flow = Flow(client, api_key())
    sha256 = flow.consent(photo(1), {"teaching": True})["media"]["sha256"]
    publisher = auth(api_key(("verify",)))
    # The first call goes through Flask (the key is new to the worker), the next ones through
    # the fast path: each is counted once, so exactly LIMIT calls pass.
    flask_calls.clear()
    answers = [_verify(client, publisher, sha256) for _ in range(LIMIT + 2)]
    assert [status for status, _, _ in answers] == [200] * LIMIT + [429, 429]
    assert len(flask_calls) == 1 + 2  # the first call, then the two refused ones
    assert answers[0][1]["answer"]["decision"] == "allowed"
    _, error, retry_after = answers[LIMIT]
    assert error["code"] == 429 and "too many" in error["message"]
    assert 1 <= int(retry_after) <= 60
    # An upload with the same key is refused too; another key is not.
    upload = client.post(
        "/api/v1/verify",
        data={"purpose": "teaching", "file": (io.BytesIO(photo(1)), "a.jpg")},
        headers=publisher,
    )
    assert upload.status_code == 429 and upload.headers["Retry-After"]
    assert _verify(client, auth(api_key(("verify",))), sha256)[0] == 200


def test_a_refused_query_counts_once(client: FlaskClient, limited: None) -> None:
    """A call the fast path hands to Flask (here, a bad hash) is not counted twice."""
    publisher = auth(api_key(("verify",)))
    statuses = [_verify(client, publisher, "not-a-hash")[0] for _ in range(LIMIT + 1)]
    assert statuses == [422] * LIMIT + [429]


def test_workers_with_a_shared_store_count_on_the_same_counters(app: Flask) -> None:
    """Two workers' limits on one Flask-Limiter storage (as with Redis): the count is global,
    and kept with the other limits' counters (consent.web.ratelimits)."""
    first, second = VerifyLimit("3 per minute", app), VerifyLimit("3 per minute", app)
    first.reset()
    try:
        assert [first.count(7), second.count(7), first.count(7)] == [None, None, None]
        wait = second.count(7)
        assert wait is not None and 1 <= wait <= 60
        assert first.count(8) is None  # per key
        stored = [key for key in limiter.storage.storage if "verify" in key]  # type: ignore[attr-defined]
        assert stored and all(key.startswith("LIMITER/consent/") for key in stored)
    finally:
        first.reset()


def test_an_unreachable_shared_store_counts_in_memory_rather_than_fail(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    limit = VerifyLimit("2 per minute", app)

    def down(*args: Any) -> int | None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(ratelimits, "hit_limits", down)  # a shared store that cannot be reached
    assert [limit.count(7) for _ in range(3)][:2] == [None, None]
    assert limit.count(7) is not None  # still limited, by the fallback counter
    assert "rate-limit store unreachable" in caplog.text


def test_an_unreachable_shared_store_is_logged_once_a_minute_not_once_a_call(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis outage under 1,000 verify calls a second must not write 1,000 lines a second."""
    limit = VerifyLimit("100000 per minute", app)
    now = [1000.0]
    monkeypatch.setattr(verifylimit.time, "monotonic", lambda: now[0])

    def down(*args: Any) -> int | None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(ratelimits, "hit_limits", down)
    for _ in range(500):
        limit.count(7)
    warned = [r for r in caplog.records if "rate-limit store unreachable" in r.getMessage()]
    assert len(warned) == 1
    now[0] += verifylimit.FALLBACK_LOG_SECONDS + 1
    limit.count(7)
    warned = [r for r in caplog.records if "rate-limit store unreachable" in r.getMessage()]
    assert len(warned) == 2
    assert warned[1].fields == {"calls_in_memory": 500}  # type: ignore[attr-defined]
