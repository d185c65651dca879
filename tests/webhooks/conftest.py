"""Fixtures for the webhook tests: http allowed for a receiver on 127.0.0.1, short backoff,
a key that may manage webhooks and write consents, and a clock the test can move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from consent import clock
from tests.conftest import LiveSettings
from tests.factories import Flow, admin_key, auth
from tests.webhooks.receiver import Receiver, running_receiver

BACKOFF_SECONDS = 10


@pytest.fixture
def hook_config(configure: LiveSettings) -> LiveSettings:
    settings = {
        "CONSENT_WEBHOOKS_ALLOW_HTTP": True,
        # The test receiver listens on loopback, which webhooks may reach only when allowed.
        "CONSENT_WEBHOOKS_ALLOW_NETWORKS": "127.0.0.1/32",
        "CONSENT_WEBHOOK_BACKOFF_SECONDS": BACKOFF_SECONDS,
        "CONSENT_WEBHOOK_BACKOFF_CAP_SECONDS": 3600,
        "CONSENT_WEBHOOK_TIMEOUT_SECONDS": 5,
        "CONSENT_WEBHOOK_MAX_ATTEMPTS": 8,
    }
    for name, value in settings.items():
        configure[name] = value
    return configure


@pytest.fixture
def key(hook_config: dict[str, Any]) -> str:
    """An administrator's key: only administrators manage webhooks (docs/roles.md). It outlives
    the clocks the expiry tests move forward."""
    return admin_key(("verify", "consents:write", "webhooks:manage"), days=800)


@pytest.fixture
def flow(client: FlaskClient, key: str) -> Flow:
    return Flow(client, key)


class Clock:
    """Moves consent.clock.now() forward; real time keeps running underneath."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta()
        real = clock.now
        monkeypatch.setattr(clock, "now", lambda: real() + self.offset)

    def advance(self, **delta: float) -> datetime:
        self.offset += timedelta(**delta)
        return clock.now()


@pytest.fixture
def moving_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def register(
    client: FlaskClient, key: str, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/webhooks",
        json={"url": url, "events": events or ["consent.created", "consent.withdrawn"]},
        headers=auth(key),
    )
    assert response.status_code == 201, response.json
    return dict(response.json)
