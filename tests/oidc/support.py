"""A real OpenID Connect provider for the sign-on tests (tests/oidc, tests/browser): node's
oidc-provider (tests/oidc/provider, installed by `npm ci --prefix tests/oidc/provider`, which
.ci/run does), started on a free loopback port for one test. Tests that need it skip, saying
why, only when node is not installed."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from consent.runtime import PublicLinks
from consent.web.context import EXTENSION as RUNTIME
from consent.web.context import runtime

PROVIDER_DIR = Path(__file__).parent / "provider"
CLIENT_ID = "consent-service"
# A test value: the service must never log it nor store it.
CLIENT_SECRET = "test-client-secret-never-logged-0123456789"
GROUP_MAP = "cardio-clinicians=cardiology:clinician,consent-admins=*:admin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def oidc_provider() -> Iterator[Callable[[str], str]]:
    """``oidc_provider(redirect_uri)`` starts the provider for that callback; returns its issuer."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the sign-on tests need it for oidc-provider")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("oidc-provider is not installed: run npm ci --prefix tests/oidc/provider")
    started: list[subprocess.Popen[str]] = []

    def start(redirect_uri: str) -> str:
        issuer = f"http://127.0.0.1:{free_port()}"
        environ = {
            **os.environ,
            "ISSUER": issuer,
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "REDIRECT_URI": redirect_uri,
        }
        process = subprocess.Popen(
            [node, "provider.js"],
            cwd=PROVIDER_DIR,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            pytest.fail(f"the OpenID provider did not start: {line!r}")
        return issuer

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def sign_on_settings(app: Flask, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> None:
    """Set the running app's sign-on (and public URL) settings for one test."""
    current = runtime(app)
    changed = current.settings.replace(**settings)
    links = PublicLinks(changed.public_url, app.url_map)
    monkeypatch.setitem(
        app.extensions, RUNTIME, dataclasses.replace(current, settings=changed, links=links)
    )


def configure_sign_on(
    app: Flask, monkeypatch: pytest.MonkeyPatch, issuer: str, **extra: Any
) -> None:
    sign_on_settings(
        app,
        monkeypatch,
        CONSENT_OIDC_ISSUER=issuer,
        CONSENT_OIDC_CLIENT_ID=CLIENT_ID,
        CONSENT_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        CONSENT_OIDC_PROVIDER_NAME="Demo Hospital ID",
        CONSENT_OIDC_SCOPES="openid email profile groups",
        CONSENT_OIDC_GROUP_MAP=GROUP_MAP,
        **extra,
    )
