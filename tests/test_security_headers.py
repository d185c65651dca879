"""Security headers on every response: pages, API, the verify fast path, errors."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from consent.web.securityheaders import CONTENT_SECURITY_POLICY
from tests.factories import Flow, api_key, photo


def _assert_hardened(headers: dict[str, str]) -> None:
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_pages_api_fast_path_and_errors_all_carry_them(client: FlaskClient) -> None:
    flow = Flow(client, api_key())
    sha = flow.consent(photo(1), {"teaching": True})["media"]["sha256"]
    responses = {
        "page": client.get("/clinician/login"),
        "public page": client.get("/tablet/start"),
        "keys": client.get("/.well-known/consent-keys"),
        "verify (fast path)": client.get(
            f"/api/v1/verify?sha256={sha}&purpose=teaching", headers=flow.headers
        ),
        "API error": client.get("/api/v1/verify?sha256=x&purpose=teaching", headers=flow.headers),
        "not found": client.get("/nowhere"),
    }
    for name, response in responses.items():
        _assert_hardened(dict(response.headers))
        assert "Strict-Transport-Security" not in response.headers, name  # plain http here
    assert responses["verify (fast path)"].headers["Cache-Control"] == "no-store"
    assert responses["API error"].headers["Cache-Control"] == "no-store"


def test_hsts_over_tls(app: Flask) -> None:
    response = app.test_client().get("/clinician/login", base_url="https://consent.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
