"""A small client for publishing tools: may this file be published for this use?

    client = ConsentClient("https://consent.hospital.example", api_key)
    checked = client.verify_file("photo.jpg", purpose="public_social_network", channel="linkedin")
    if checked.allowed: ...

The file is hashed here (SHA-256, streamed); only its hash is sent, unless ``perceptual=True``
sends the file itself so that a re-encoded or resized copy matches by its perceptual hash. The
answer is accepted only once its Ed25519 signature holds under a published key of the service
(or a key pinned by the caller), and it answers the question asked: this hash, this purpose,
this channel, checked moments ago. Anything else raises: a signed answer about another file or
an old answer replayed by a proxy is never taken for "allowed" (invariant 4).

Standard library and the service's own Flask-free crypto only (consent.crypto, the verifier
keys of consent.ledger.checkpoint), as consent-verify: no Flask, no database driver.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consent.client.answers import DECISIONS, METHODS, CheckedAnswer
from consent.client.http import (
    MAX_RESPONSE_BYTES,
    ConfigurationError,
    ConsentClientError,
    NoRedirects,
    ServiceUnavailable,
    UnverifiableAnswer,
    file_sha256,
    is_loopback,
    multipart,
    refusal,
)
from consent.client.texts import text_sha256
from consent.crypto.keyring import PublicKey
from consent.crypto.receipts import verify_envelope
from consent.errors import VerificationError
from consent.ledger.checkpoint import parse_vkey

__all__ = [
    "DECISIONS",
    "METHODS",
    "CheckedAnswer",
    "ConfigurationError",
    "ConsentClient",
    "ConsentClientError",
    "NoRedirects",
    "ServiceUnavailable",
    "UnverifiableAnswer",
    "file_sha256",
    "is_loopback",
]

KEYS_PATH = "/.well-known/consent-keys"
VERIFY_PATH = "/api/v1/verify"
VERIFY_TEXT_PATH = "/api/v1/verify/text"
DEFAULT_TIMEOUT = 10.0
# How old a signed answer may be when it arrives, and how far ahead of our clock: a proxy
# replaying yesterday's "allowed" after a withdrawal is refused.
DEFAULT_MAX_AGE = 300.0
CLOCK_SKEW = 60.0


class ConsentClient:
    """Asks one consent service, with one API key (scope ``verify``).

    ``accept_methods``: the collection methods this publisher accepts (e.g. ``{"tablet",
    "paper"}``); an answer resting on another is reported ``allowed`` False.

    ``keys``: verifier keys (``name+id+base64``) to trust instead of the ones the service
    publishes. Pin them when the network path to the service is not trusted: keys fetched over
    the same path as the answers cannot prove more than that path.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_age: float = DEFAULT_MAX_AGE,
        keys: Iterable[str] | None = None,
        accept_methods: Iterable[str] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"the service address must be http(s)://host[:port], not {url!r}"
            )
        if not api_key or any(ch.isspace() for ch in api_key):
            raise ConfigurationError("the API key is empty or holds spaces")
        self.url = url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.max_age = max_age
        self._pinned = self._parse_keys(keys) if keys is not None else None
        self.accept_methods = frozenset(accept_methods) if accept_methods is not None else None
        unknown = (self.accept_methods or frozenset()) - set(METHODS)
        if unknown:
            raise ConfigurationError(
                f"accept_methods are among {', '.join(METHODS)}; got {', '.join(sorted(unknown))}"
            )
        self._published: dict[str, PublicKey] | None = None
        self._opener = urllib.request.build_opener(NoRedirects)

    def __repr__(self) -> str:  # never the key
        return f"ConsentClient({self.url!r})"

    # --- questions -----------------------------------------------------------------------

    def verify_file(
        self,
        path: str | Path,
        *,
        purpose: str,
        channel: str | None = None,
        perceptual: bool = False,
    ) -> CheckedAnswer:
        """The checked answer for a file. Raises OSError when the file cannot be read, and the
        client's errors (ConfigurationError, ServiceUnavailable, UnverifiableAnswer)."""
        sha256 = file_sha256(path)
        if not perceptual:
            return self.verify_sha256(sha256, purpose=purpose, channel=channel)
        fields = {"purpose": purpose, **({"channel": channel} if channel else {})}
        body, content_type = multipart(fields, Path(path))
        raw = self._request("POST", VERIFY_PATH, data=body, content_type=content_type)
        return self._checked(raw, sha256=sha256, purpose=purpose, channel=channel)

    def verify_sha256(
        self, sha256: str, *, purpose: str, channel: str | None = None
    ) -> CheckedAnswer:
        """The checked answer for a file known by its SHA-256 (64 lower-case hex digits)."""
        query = {"sha256": sha256, "purpose": purpose, **({"channel": channel} if channel else {})}
        raw = self._request("GET", f"{VERIFY_PATH}?{urllib.parse.urlencode(query)}")
        return self._checked(raw, sha256=sha256, purpose=purpose, channel=channel)

    def verify_text(self, text: str, *, purpose: str, channel: str | None = None) -> CheckedAnswer:
        """The checked answer for a case text: exact (its normalised SHA-256, checked here
        against the signed answer) or an edit of a consented one (``modified``)."""
        body = {"text": text, "purpose": purpose, **({"channel": channel} if channel else {})}
        raw = self._request(
            "POST",
            VERIFY_TEXT_PATH,
            data=json.dumps(body).encode(),
            content_type="application/json",
        )
        return self._checked(
            raw, sha256=text_sha256(text), purpose=purpose, channel=channel, hashed="text_sha256"
        )

    def published_keys(self) -> dict[str, PublicKey]:
        """The service's active verifier keys by key id, from /.well-known/consent-keys.

        Raises ServiceUnavailable, or UnverifiableAnswer when the document is not a key list.
        """
        if self._published is None:
            raw = self._request("GET", KEYS_PATH, authorised=False)
            try:
                entries = json.loads(raw)["keys"]
                keys = {}
                for entry in entries:
                    key = parse_vkey(entry["vkey"])
                    if key.key_id != entry["key_id"] or _b64(key) != entry["public_key"]:
                        raise VerificationError(f"key {entry['key_id']} contradicts its vkey")
                    # Answers are signed now, so by the active key, or by the next one on a
                    # node that promoted it first during a rotation; a retired key only
                    # vouches for what it signed before.
                    if entry["status"] in ("active", "next"):
                        keys[key.key_id] = key
            except (ValueError, KeyError, TypeError, VerificationError) as exc:
                raise UnverifiableAnswer(f"the service's key list cannot be read: {exc}") from exc
            if not keys:
                raise UnverifiableAnswer("the service publishes no active key")
            self._published = keys
        return self._published

    # --- checking ------------------------------------------------------------------------

    def _checked(
        self,
        raw: bytes,
        *,
        sha256: str,
        purpose: str,
        channel: str | None,
        hashed: str = "media_sha256",
    ) -> CheckedAnswer:
        try:
            envelope = json.loads(raw)
        except ValueError as exc:
            raise UnverifiableAnswer("the answer is not JSON") from exc
        keys = self._pinned if self._pinned is not None else self.published_keys()
        try:
            verified = verify_envelope(envelope=envelope, body_key="answer", keys=keys)
        except VerificationError as exc:
            raise UnverifiableAnswer(f"the answer's signature does not hold: {exc}") from exc
        answer = verified.body
        expected = {
            "type": "verify_answer",
            hashed: sha256,
            "purpose": purpose,
            "channel": channel,
        }
        for name, value in expected.items():
            if answer.get(name) != value:
                raise UnverifiableAnswer(
                    f"the signed answer is for {name} {answer.get(name)!r}, not {value!r}"
                )
        if answer.get("decision") not in DECISIONS:
            raise UnverifiableAnswer(f"unknown decision {answer.get('decision')!r}")
        self._check_fresh(answer.get("checked_at"))
        return CheckedAnswer(answer, verified.key_id, self.accept_methods)

    def _check_fresh(self, checked_at: Any) -> None:
        try:
            when = datetime.strptime(str(checked_at), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise UnverifiableAnswer(f"the answer's time {checked_at!r} cannot be read") from exc
        age = (datetime.now(UTC) - when).total_seconds()
        if age > self.max_age or age < -CLOCK_SKEW:
            raise UnverifiableAnswer(
                f"the answer was signed at {checked_at}, {age:.0f} s from now: a replayed or "
                "stale answer (or a wrong clock here)"
            )

    @staticmethod
    def _parse_keys(values: Iterable[str]) -> dict[str, PublicKey]:
        keys: dict[str, PublicKey] = {}
        for value in values:
            try:
                key = parse_vkey(value)
            except VerificationError as exc:
                raise ConfigurationError(f"the pinned key cannot be read: {exc}") from exc
            keys[key.key_id] = key
        if not keys:
            raise ConfigurationError("no key given to pin")
        return keys

    # --- transport -----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        content_type: str | None = None,
        authorised: bool = True,
    ) -> bytes:
        headers = {"Accept": "application/json", "User-Agent": "consent-check/1"}
        if authorised:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if content_type:
            headers["Content-Type"] = content_type
        # The scheme was checked to be http(s) in __init__.
        request = urllib.request.Request(  # noqa: S310
            self.url + path, data=data, headers=headers, method=method
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body: bytes = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise refusal(exc) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServiceUnavailable(
                f"the service at {self.url} cannot be reached: {reason}"
            ) from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise UnverifiableAnswer(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")
        return body


def _b64(key: PublicKey) -> str:
    return base64.b64encode(key.public_bytes).decode()
