"""What the sign-on asks of the hospital's OpenID Connect provider, over HTTP: its discovery
document, its published keys (JWKS) and the code-for-tokens exchange. Only the configured
issuer is ever called: discovery comes from ISSUER/.well-known/openid-configuration, must name
that issuer, and its endpoints must be on the issuer's own origin.

The client secret goes to the token endpoint only (HTTP Basic) and never into a log line or
the database.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from consent.errors import SignOnRefused

# OpenID Connect Discovery 1.0, section 4.
DISCOVERY_PATH = "/.well-known/openid-configuration"
TIMEOUT_SECONDS = 10
MAX_ANSWER_BYTES = 256 * 1024


@dataclass(frozen=True)
class ProviderEndpoints:
    """The provider's endpoints, from its discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead off the provider's origin: refused, never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def discover(issuer: str) -> ProviderEndpoints:
    """The provider's endpoints. Raises SignOnRefused when discovery fails, names another
    issuer, or points off the issuer's origin."""
    document = _get_json(issuer.rstrip("/") + DISCOVERY_PATH)
    # Discovery 4.3: the issuer in the document is exactly the one configured.
    if document.get("issuer") != issuer:
        raise SignOnRefused("The sign-on provider's discovery names another issuer.")
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or _origin(value) != _origin(issuer):
            raise SignOnRefused(f"The sign-on provider's {name} is not on the issuer's origin.")
        endpoints[name] = value
    return ProviderEndpoints(issuer=issuer, **endpoints)


def published_keys(endpoints: ProviderEndpoints) -> dict[str, Any]:
    """The provider's signing keys (a JWK Set). Raises SignOnRefused."""
    keys = _get_json(endpoints.jwks_uri)
    if not isinstance(keys.get("keys"), list):
        raise SignOnRefused("The sign-on provider's published keys cannot be read.")
    return keys


def exchange_code(
    endpoints: ProviderEndpoints,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    client_id: str,
    client_secret: str | None,
) -> dict[str, Any]:
    """The provider's token answer for an authorization code (RFC 6749 4.1.3, with the PKCE
    verifier of RFC 7636 4.5). Raises SignOnRefused when the provider refuses it."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if client_secret:
        # client_secret_basic (RFC 6749 2.3.1): both parts form-encoded first.
        pair = (
            f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}"
        )
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form["client_id"] = client_id
    # http(s) only: the issuer is checked so by the settings, and every endpoint is on its origin.
    request = urllib.request.Request(  # noqa: S310
        endpoints.token_endpoint,
        data=urllib.parse.urlencode(form).encode(),
        headers=headers,
        method="POST",
    )
    answer = _read_json(request)
    if not isinstance(answer.get("id_token"), str):
        raise SignOnRefused("The sign-on provider gave no ID token.")
    return answer


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc


def _get_json(url: str) -> dict[str, Any]:
    # http(s) only: the issuer is checked so by the settings, and every endpoint is on its origin.
    return _read_json(urllib.request.Request(url, headers={"Accept": "application/json"}))  # noqa: S310


def _read_json(request: urllib.request.Request) -> dict[str, Any]:
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as answer:
            body = answer.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        # The provider's error code only (invalid_grant, ...): never the request, which
        # carries the secret.
        raise SignOnRefused(
            f"The sign-on provider refused the request ({exc.code} {_error_code(exc)})."
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise SignOnRefused(
            f"The sign-on provider cannot be reached ({type(exc).__name__})."
        ) from None
    if len(body) > MAX_ANSWER_BYTES:
        raise SignOnRefused("The sign-on provider's answer is too large.")
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        raise SignOnRefused("The sign-on provider's answer is not a JSON object.")
    return decoded


def _error_code(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read(4096)).get("error", "")
    except (ValueError, AttributeError, OSError):
        return ""
    return str(error)[:60] if isinstance(error, str) and error.isascii() else ""
