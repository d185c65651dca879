"""Configuration layers: defaults here, then instance/config.py, then CONSENT_* variables.

Nothing is read at import time; ``load_config`` is called by ``create_app``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: Defaults safe to publish. Secrets have no default: outside testing the app refuses to start
#: without them (see ``consent.__init__._require_secrets``).
DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "SQLALCHEMY_DATABASE_URI": None,  # filled in from instance_path when absent
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # Bytes of one HTTP request body; bigger bodies get 413 before they are read. None: the
    # largest file accepted (media or scan) plus MULTIPART_ALLOWANCE, so that raising
    # CONSENT_MAX_MEDIA_BYTES (for long videos) is the only setting to change.
    "MAX_CONTENT_LENGTH": None,
    # Largest photo or video (bytes), for storing and for verify by upload. Uploads past
    # CONSENT_UPLOAD_MEMORY_BYTES are spooled to a temporary file and hashed in chunks: memory
    # does not grow with this (bench/upload.py measures a 500 MB video), only the temporary disk
    # space needed per upload in flight.
    "CONSENT_MAX_MEDIA_BYTES": 50 * 1024 * 1024,
    # Request bodies up to this many bytes keep their files in memory while they are handled
    # (a photo); larger ones go to a temporary file (consent.web.uploads). The most a sync worker
    # holds for an upload.
    "CONSENT_UPLOAD_MEMORY_BYTES": 16 * 1024 * 1024,
    # Largest scan of a signed paper form (PDF, JPEG or PNG).
    "CONSENT_MAX_SCAN_BYTES": 25 * 1024 * 1024,
    # Largest JSON body accepted by the API (bytes); bigger bodies get 413.
    "CONSENT_MAX_JSON_BYTES": 256 * 1024,
    # Largest image, in pixels, that the service will decode (decompression bombs).
    "CONSENT_MAX_IMAGE_PIXELS": 100_000_000,
    # Hamming distance (of 64 bits) under which a re-encoded image still matches perceptually.
    # The band index (consent.media.perceptual) finds every match up to 7.
    "CONSENT_PHASH_MAX_DISTANCE": 6,
    # Where the instance keeps keys and encrypted media; relative paths are under instance_path.
    "CONSENT_KEYS_DIR": "keys",
    "CONSENT_MEDIA_DIR": "media",
    # Signing keys may instead come from the environment (base64 seeds, comma separated,
    # newest last) for deployments that keep secrets outside the file system.
    "CONSENT_SIGNING_KEYS": None,
    # The signed-note name of keys given in the environment (key files carry their own).
    "CONSENT_KEY_NAME": None,
    # The log's origin line in checkpoints; by default the signing keys' name, which is
    # "<host of CONSENT_PUBLIC_URL>/consent-log" when the keys are created.
    "CONSENT_LOG_ORIGIN": None,
    "CONSENT_MASTER_KEY": None,
    # Days an API key lives unless created with another expiry.
    "CONSENT_API_KEY_DAYS": 365,
    # Seconds a worker trusts a key it has just looked up; a revocation takes this long to
    # reach every worker (0 looks the key up on every call).
    "CONSENT_API_KEY_CACHE_SECONDS": 5,
    # The data controller named on forms and in receipts.
    "CONSENT_CONTROLLER": "Demo Hospital",
    "CONSENT_DPO_CONTACT": "dpo@hospital.example",
    "CONSENT_JURISDICTION": "FR",
    # Level of the JSON logs on stderr (one line per request at INFO; WARNING keeps errors only).
    "CONSENT_LOG_LEVEL": "INFO",
    # Hours a clinician's log-in lasts.
    "CONSENT_SESSION_HOURS": 10,
    # Minutes a tablet signing link stays valid.
    "CONSENT_SIGNING_LINK_MINUTES": 30,
    # Bytes of rendered PDFs (forms, receipts) each worker keeps in memory, newest used first.
    "CONSENT_PDF_CACHE_BYTES": 64 * 1024 * 1024,
    # Public base URL used in links printed on paper and in receipts.
    "CONSENT_PUBLIC_URL": "http://127.0.0.1:5000",
    # Webhooks (Standard Webhooks). Endpoints must be https unless this is set (for a receiver
    # on the same host, in development and tests).
    "CONSENT_WEBHOOKS_ALLOW_HTTP": False,
    # Seconds to wait for an endpoint's answer; redirects are never followed.
    "CONSENT_WEBHOOK_TIMEOUT_SECONDS": 10,
    # Attempts before a delivery is given up ("dead"); the wait after failed attempt n is
    # BACKOFF * 2**(n-1) seconds, at most BACKOFF_CAP: 2, 4, 8 ... 128 minutes, about 4 hours
    # in all with these values.
    "CONSENT_WEBHOOK_MAX_ATTEMPTS": 8,
    "CONSENT_WEBHOOK_BACKOFF_SECONDS": 120,
    "CONSENT_WEBHOOK_BACKOFF_CAP_SECONDS": 6 * 3600,
    # Deliver from a thread inside each web worker as well (started by the first request),
    # polling every POLL seconds. Off: run `flask --app consent deliver --loop` instead.
    "CONSENT_WEBHOOK_WORKER": False,
    "CONSENT_WEBHOOK_POLL_SECONDS": 5,
    # Rate limits (Flask-Limiter; "N per minute;M per hour" strings, every part must hold).
    # Where the counters live: memory:// counts per worker process; redis://host:6379 shares
    # them between workers and hosts (pip install redis).
    "CONSENT_RATELIMIT_STORAGE_URI": "memory://",
    # Reverse proxies in front of the service (nginx: 1). With N > 0 the client's address is the
    # N-th X-Forwarded-For entry from the right and the scheme X-Forwarded-Proto (werkzeug's
    # ProxyFix); at 0 those headers are ignored, since a client could set them itself.
    "CONSENT_TRUSTED_PROXIES": 0,
    # Verify calls per API key (fast path and upload alike, consent/verify/ratelimit.py); an
    # empty value turns it off. A publishing tool checks a file before posting it: 20 a second
    # is far above that.
    "CONSENT_RATELIMIT_VERIFY": "1200 per minute",
    # Failed log-ins, counted per IP address and, separately, per account e-mail (throttling a
    # guessed password spread over many addresses too). Successful log-ins are not counted.
    "CONSENT_RATELIMIT_LOGIN": "10 per minute;50 per hour",
    # Wrong withdrawal codes per IP address (a right code is not counted; past the limit even a
    # right one waits). The 100-bit codes are beyond guessing anyway; this stops the noise.
    "CONSENT_RATELIMIT_WITHDRAWAL_CODE": "5 per minute;30 per hour",
    # Signing links that fail to open (unknown, spent, expired) per IP address.
    "CONSENT_RATELIMIT_SIGNING_LINK": "20 per minute;100 per hour",
    # Files checked on the public verification page per IP address (each one is hashed).
    "CONSENT_RATELIMIT_FILE_CHECK": "10 per minute;60 per hour",
    # Largest file the public verification page checks.
    "CONSENT_MAX_FILE_CHECK_BYTES": 50 * 1024 * 1024,
    # Minutes a patient's withdrawal page stays open after the code was typed.
    "CONSENT_WITHDRAWAL_SESSION_MINUTES": 15,
    # flask-smorest / OpenAPI
    "API_TITLE": "Consent service",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    # Every API route needs a bearer key unless its blueprint says otherwise.
    "API_SPEC_OPTIONS": {"security": [{"bearerAuth": []}]},
    "JSON_SORT_KEYS": False,
}

ENV_PREFIX = "CONSENT_"
# Room in a request body for the multipart framing and the form's other fields, beyond the file.
MULTIPART_ALLOWANCE = 64 * 1024


def body_limit(config: dict[str, Any]) -> int:
    """MAX_CONTENT_LENGTH as configured, else the largest accepted file plus the allowance."""
    configured = config.get("MAX_CONTENT_LENGTH")
    if configured is not None:
        return int(configured)
    largest = max(int(config["CONSENT_MAX_MEDIA_BYTES"]), int(config["CONSENT_MAX_SCAN_BYTES"]))
    return largest + MULTIPART_ALLOWANCE


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read CONSENT_* variables; values that parse as JSON (numbers, booleans) are decoded.

    ``CONSENT_DATABASE_URL`` and ``CONSENT_SECRET_KEY`` map to the Flask names.
    """
    environ = dict(os.environ if environ is None else environ)
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name.startswith("CONSENT_TEST_"):
            continue
        value: Any = raw
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = raw
        if isinstance(decoded, int | float | bool):
            value = decoded
        if name == "CONSENT_DATABASE_URL":
            out["SQLALCHEMY_DATABASE_URI"] = value
        elif name == "CONSENT_SECRET_KEY":
            out["SECRET_KEY"] = value
        else:
            out[name] = value
    return out


def resolve_path(instance_path: str, value: str) -> Path:
    """A configured directory, relative to the instance folder unless absolute."""
    path = Path(value)
    return path if path.is_absolute() else Path(instance_path) / path
