"""The publisher client's HTTP side: no redirects followed, files hashed by streaming, multipart
bodies, and the service's error answers as the client's errors. Standard library only."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# An answer or key document larger than this is not the service's.
MAX_RESPONSE_BYTES = 256 * 1024
READ_CHUNK = 1024 * 1024


class ConsentClientError(Exception):
    """Base of the client's errors. ``str(error)`` is a message for the user."""


class ConfigurationError(ConsentClientError):
    """The service refused the request as asked: the address, key, scope or query is wrong."""


class ServiceUnavailable(ConsentClientError):
    """The service could not be reached or did not answer in time, or failed (5xx)."""


class UnverifiableAnswer(ConsentClientError):
    """The answer's signature, key, freshness or content does not hold: treat as not allowed."""


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is the server's answer, never followed: urllib would send the Authorization
    header (or a signed webhook) on to wherever a redirect points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, streamed. Raises OSError when it cannot be read."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(exc: urllib.error.HTTPError) -> ConsentClientError:
    """The service's own error message (its one JSON shape), as the right client error."""
    try:
        detail = json.loads(exc.read(MAX_RESPONSE_BYTES))
        message = str(detail.get("message", ""))
        if detail.get("errors"):
            message += " " + json.dumps(detail["errors"], sort_keys=True)
    except (ValueError, AttributeError, OSError):
        message = ""
    said = f"HTTP {exc.code}" + (f": {message}" if message else "")
    if 300 <= exc.code < 400:
        return ConfigurationError(f"the service redirects ({said}); give its final address")
    if exc.code in (401, 403):
        return ConfigurationError(f"the API key was refused ({said})")
    if exc.code >= 500 or exc.code in (408, 429):
        return ServiceUnavailable(f"the service failed to answer ({said})")
    return ConfigurationError(f"the service refused the request ({said})")


def multipart(fields: Mapping[str, str], path: Path) -> tuple[bytes, str]:
    """A multipart/form-data body (RFC 7578) with the fields and the file as ``file``."""
    boundary = "consent-check-" + secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    # The service names files by id and never keeps the client's name: send none.
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    parts.append(path.read_bytes())
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
