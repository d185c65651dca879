"""The service's settings: one typed, frozen ``Settings``, built and checked once by ``create_app``.

Layers, each overriding the one before: the defaults below, then ``instance/config.py``, then the
``CONSENT_*`` environment variables, then the mapping a test passes to ``create_app``. Every value
is converted and checked by its setting's own coercer (type, range, format); a name the service
does not know stops the start, naming the closest known one, so that a misspelt variable never
silently does nothing. Nothing is read at import time.

Secrets (the Flask secret key, keys given in the environment) have no default; the signing and
master keys are checked where they are loaded (consent.runtime).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consent.errors import ConfigurationError

ENV_PREFIX = "CONSENT_"
# Environment variables of the test suite, CI and benchmarks, never the service's own.
FOREIGN_PREFIXES = ("CONSENT_TEST_", "CONSENT_CI_", "CONSENT_BENCH_")
# Room in a request body for the multipart framing and the form's other fields, beyond the file.
MULTIPART_ALLOWANCE = 64 * 1024
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
RATELIMIT_STORAGES = ("memory://", "redis://", "rediss://", "redis+unix://", "memcached://")
# Flask's and its extensions' own keys that a test or instance/config.py may set: passed to
# app.config as they are. Any other upper-case name is refused like an unknown CONSENT_ one.
FLASK_KEYS = frozenset(
    {
        "TESTING",
        "DEBUG",
        "PROPAGATE_EXCEPTIONS",
        "SERVER_NAME",
        "PREFERRED_URL_SCHEME",
        "WTF_CSRF_ENABLED",
        "WTF_CSRF_TIME_LIMIT",
        "SQLALCHEMY_ENGINE_OPTIONS",
        "SQLALCHEMY_ECHO",
        "MAX_CONTENT_LENGTH",
        "RATELIMIT_KEY_PREFIX",
    }
)


# Coercers: a Python value (from instance/config.py, a test, or an environment variable as
# decoded by ``_decoded``) checked against the setting's type and range. A value of another
# type is refused, not converted: "1" is not a number of proxies. Raise ValueError with the rule.


def whole(low: int, high: int) -> Callable[[object], int]:
    def coerce(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return value

    return coerce


def seconds(low: float, high: float) -> Callable[[object], float]:
    def coerce(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"a number of seconds from {low} to {high}")
        if not low <= value <= high:
            raise ValueError(f"a number of seconds from {low} to {high}")
        return float(value)

    return coerce


def flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def text(max_length: int = 500) -> Callable[[object], str]:
    def coerce(value: object) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # an environment variable that reads as a number
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            raise ValueError(f"a text of 1 to {max_length} characters")
        return value.strip()

    return coerce


def optional(coerce: Callable[[object], Any]) -> Callable[[object], Any]:
    def maybe(value: object) -> Any:
        return None if value is None or value == "" else coerce(value)

    return maybe


def http_url(value: object) -> str:
    url = text(2000)(value)
    if not url.startswith(("http://", "https://")) or "://" not in url[:8] or " " in url:
        raise ValueError("an http:// or https:// address")
    return url.rstrip("/")


def database_url(value: object) -> str:
    url = text(2000)(value)
    # psycopg 3 is the PostgreSQL driver; accept the plain postgresql:// forms too.
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain) :]
    if not url.startswith(("sqlite:", "postgresql+psycopg://")):
        raise ValueError("a sqlite:/// or postgresql:// address")
    return url


def log_level(value: object) -> str:
    level = text(20)(value).upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"one of {', '.join(LOG_LEVELS)}")
    return level


def rate_limit(value: object) -> str:
    """A Flask-Limiter string ("10 per minute;50 per hour"); empty turns the limit off."""
    from limits import parse_many

    if value is None or value == "":
        return ""
    spec = text(300)(value)
    try:
        parse_many(spec)
    except ValueError as exc:
        raise ValueError('limits such as "10 per minute;50 per hour"') from exc
    return spec


def storage_uri(value: object) -> str:
    uri = text(2000)(value)
    if not uri.startswith(RATELIMIT_STORAGES):
        raise ValueError(f"an address starting with one of {', '.join(RATELIMIT_STORAGES)}")
    return uri


@dataclass(frozen=True)
class Setting:
    """One setting: its name (the CONSENT_* variable), default, coercer and meaning."""

    name: str
    attribute: str
    default: Any
    coerce: Callable[[object], Any]
    help: str
    secret: bool = False
    aliases: tuple[str, ...] = ()


MiB = 1024 * 1024


def _s(name: str, default: Any, coerce: Callable[[object], Any], help: str, **kw: Any) -> Setting:
    return Setting(name, name.removeprefix(ENV_PREFIX).lower(), default, coerce, help, **kw)


SETTINGS: tuple[Setting, ...] = (
    _s(
        "CONSENT_SECRET_KEY",
        None,
        optional(text(500)),
        "Signs session cookies.",
        secret=True,
        aliases=("SECRET_KEY",),
    ),
    _s(
        "CONSENT_DATABASE_URL",
        None,
        optional(database_url),
        "PostgreSQL or SQLite; by default consent.sqlite3 in the instance folder.",
        secret=True,
        aliases=("SQLALCHEMY_DATABASE_URI",),
    ),
    _s("CONSENT_INSTANCE_PATH", None, optional(text(4000)), "The instance folder."),
    _s(
        "CONSENT_PUBLIC_URL",
        "http://127.0.0.1:5000",
        http_url,
        "The address patients and printed forms use; links and QR codes are built on it.",
    ),
    _s(
        "CONSENT_MAX_MEDIA_BYTES",
        50 * MiB,
        whole(1, 64 * 1024 * MiB),
        "Largest photo or video stored or verified by upload.",
    ),
    _s(
        "CONSENT_UPLOAD_MEMORY_BYTES",
        16 * MiB,
        whole(0, 1024 * MiB),
        "Request bodies up to this size keep their files in memory; larger ones go to disk.",
    ),
    _s(
        "CONSENT_MAX_SCAN_BYTES",
        25 * MiB,
        whole(1, 1024 * MiB),
        "Largest scan of a signed paper form.",
    ),
    _s("CONSENT_MAX_JSON_BYTES", 256 * 1024, whole(1024, 64 * MiB), "Largest JSON body."),
    _s(
        "CONSENT_MAX_IMAGE_PIXELS",
        100_000_000,
        whole(1, 2_000_000_000),
        "Largest image decoded (decompression bombs).",
    ),
    _s(
        "CONSENT_PHASH_MAX_DISTANCE",
        6,
        whole(0, 7),
        "Hamming distance (of 64 bits) under which a re-encoded image still matches; the band "
        "index finds every match up to 7.",
    ),
    _s("CONSENT_KEYS_DIR", "keys", text(4000), "Signing and master keys (under the instance)."),
    _s("CONSENT_MEDIA_DIR", "media", text(4000), "Encrypted media (under the instance)."),
    _s(
        "CONSENT_SIGNING_KEYS",
        None,
        optional(text(10_000)),
        "Signing key seeds, base64, comma separated, newest last, instead of keys/.",
        secret=True,
    ),
    _s(
        "CONSENT_KEY_NAME",
        None,
        optional(text(200)),
        "Signed-note name of keys given in the environment.",
    ),
    _s(
        "CONSENT_LOG_ORIGIN",
        None,
        optional(text(200)),
        "The log's origin line in checkpoints; by default the signing keys' name.",
    ),
    _s(
        "CONSENT_MASTER_KEY",
        None,
        optional(text(200)),
        "The vault's master key, base64.",
        secret=True,
    ),
    _s("CONSENT_API_KEY_DAYS", 365, whole(1, 3650), "Days an API key lives by default."),
    _s(
        "CONSENT_API_KEY_CACHE_SECONDS",
        5,
        seconds(0, 3600),
        "Seconds a worker trusts a key it looked up: a revocation reaches every worker within.",
    ),
    _s(
        "CONSENT_CONTROLLER",
        "Demo Hospital",
        text(200),
        "The data controller named on forms and in receipts.",
    ),
    _s(
        "CONSENT_DPO_CONTACT",
        "dpo@hospital.example",
        text(200),
        "The data protection officer's contact.",
    ),
    _s("CONSENT_JURISDICTION", "FR", text(10), "The jurisdiction named in receipts."),
    _s("CONSENT_LOG_LEVEL", "INFO", log_level, "Level of the JSON logs on stderr."),
    _s("CONSENT_SESSION_HOURS", 10, whole(1, 24 * 7), "Hours a clinician's log-in lasts."),
    _s(
        "CONSENT_SIGNING_LINK_MINUTES",
        30,
        whole(1, 24 * 60),
        "Minutes a tablet signing link stays valid.",
    ),
    _s(
        "CONSENT_PDF_CACHE_BYTES",
        64 * MiB,
        whole(0, 4096 * MiB),
        "Bytes of rendered PDFs each worker keeps in memory.",
    ),
    _s(
        "CONSENT_WEBHOOKS_ALLOW_HTTP",
        False,
        flag,
        "Accept http:// webhook endpoints (development and tests only).",
    ),
    _s(
        "CONSENT_WEBHOOK_TIMEOUT_SECONDS",
        10,
        seconds(0.1, 120),
        "Seconds to wait for an endpoint's answer.",
    ),
    _s("CONSENT_WEBHOOK_MAX_ATTEMPTS", 8, whole(1, 50), "Attempts before a delivery is given up."),
    _s(
        "CONSENT_WEBHOOK_BACKOFF_SECONDS",
        120,
        seconds(0, 86_400),
        "Wait after the first failed attempt; doubles after each.",
    ),
    _s(
        "CONSENT_WEBHOOK_BACKOFF_CAP_SECONDS",
        6 * 3600,
        seconds(0, 7 * 86_400),
        "Longest wait between attempts.",
    ),
    _s(
        "CONSENT_WEBHOOK_WORKER",
        False,
        flag,
        "Deliver from a thread in each web worker too (else run `flask deliver --loop`).",
    ),
    _s("CONSENT_WEBHOOK_POLL_SECONDS", 5, seconds(0.05, 3600), "Delivery worker's poll period."),
    _s(
        "CONSENT_RATELIMIT_STORAGE_URI",
        "memory://",
        storage_uri,
        "Where rate-limit counters live: memory:// per worker, redis://... shared.",
    ),
    _s(
        "CONSENT_TRUSTED_PROXIES",
        0,
        whole(0, 5),
        "Reverse proxies in front (nginx: 1): the client's address from X-Forwarded-For.",
    ),
    _s("CONSENT_RATELIMIT_VERIFY", "1200 per minute", rate_limit, "Verify calls per API key."),
    _s(
        "CONSENT_RATELIMIT_LOGIN",
        "10 per minute;50 per hour",
        rate_limit,
        "Failed log-ins per address and per account.",
    ),
    _s(
        "CONSENT_RATELIMIT_WITHDRAWAL_CODE",
        "5 per minute;30 per hour",
        rate_limit,
        "Wrong withdrawal codes per address.",
    ),
    _s(
        "CONSENT_RATELIMIT_SIGNING_LINK",
        "20 per minute;100 per hour",
        rate_limit,
        "Signing links that fail to open, per address.",
    ),
    _s(
        "CONSENT_RATELIMIT_FILE_CHECK",
        "10 per minute;60 per hour",
        rate_limit,
        "Files checked on the public page, per address.",
    ),
    _s(
        "CONSENT_MAX_FILE_CHECK_BYTES",
        50 * MiB,
        whole(1, 64 * 1024 * MiB),
        "Largest file the public verification page checks.",
    ),
    _s(
        "CONSENT_WITHDRAWAL_SESSION_MINUTES",
        15,
        whole(1, 24 * 60),
        "Minutes a patient's withdrawal page stays open after the code was typed.",
    ),
)
_BY_NAME = {setting.name: setting for setting in SETTINGS}
_BY_ALIAS = {alias: setting for setting in SETTINGS for alias in setting.aliases}


@dataclass(frozen=True)
class Settings:
    """Every setting, converted and checked. Built by ``load``; never changed afterwards."""

    secret_key: str | None = field(repr=False)
    database_url: str | None = field(repr=False)
    instance_path: str | None
    public_url: str
    max_media_bytes: int
    upload_memory_bytes: int
    max_scan_bytes: int
    max_json_bytes: int
    max_image_pixels: int
    phash_max_distance: int
    keys_dir: str
    media_dir: str
    signing_keys: str | None = field(repr=False)
    key_name: str | None
    log_origin: str | None
    master_key: str | None = field(repr=False)
    api_key_days: int
    api_key_cache_seconds: float
    controller: str
    dpo_contact: str
    jurisdiction: str
    log_level: str
    session_hours: int
    signing_link_minutes: int
    pdf_cache_bytes: int
    webhooks_allow_http: bool
    webhook_timeout_seconds: float
    webhook_max_attempts: int
    webhook_backoff_seconds: float
    webhook_backoff_cap_seconds: float
    webhook_worker: bool
    webhook_poll_seconds: float
    ratelimit_storage_uri: str
    trusted_proxies: int
    ratelimit_verify: str
    ratelimit_login: str
    ratelimit_withdrawal_code: str
    ratelimit_signing_link: str
    ratelimit_file_check: str
    max_file_check_bytes: int
    withdrawal_session_minutes: int
    # Flask's own keys given by a test or instance/config.py, passed on as they are.
    flask: Mapping[str, Any] = field(default_factory=dict)

    @property
    def public_url_is_https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def body_limit(self) -> int:
        """MAX_CONTENT_LENGTH as configured, else the largest accepted file plus the allowance."""
        configured = self.flask.get("MAX_CONTENT_LENGTH")
        if configured is not None:
            return int(configured)
        return max(self.max_media_bytes, self.max_scan_bytes) + MULTIPART_ALLOWANCE

    def resolve(self, directory: str) -> Path:
        """A configured directory, relative to the instance folder unless absolute."""
        path = Path(directory)
        if path.is_absolute() or self.instance_path is None:
            return path
        return Path(self.instance_path) / path

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, by CONSENT_* name or attribute (tests)."""
        values = {}
        for name, value in changes.items():
            setting = _BY_NAME.get(name) or _BY_ALIAS.get(name)
            attribute = setting.attribute if setting else name
            values[attribute] = _coerce(setting, value) if setting else value
        return dataclasses.replace(self, **values)


def load(
    *,
    instance_path: str | None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Defaults, then instance/config.py, then CONSENT_* variables, then ``overrides``.

    Raises ConfigurationError naming the setting for an unknown name or a value that breaks
    its rule.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {setting.name: setting.default for setting in SETTINGS}
    flask_keys: dict[str, Any] = {}
    sources: list[tuple[str, Mapping[str, Any]]] = []
    instance = (overrides or {}).get("INSTANCE_PATH") or instance_path
    if instance:
        config_file = Path(instance) / "config.py"
        if config_file.exists():
            sources.append((str(config_file), _read_config_file(config_file)))
    sources.append(("the environment", _from_environment(environ)))
    if overrides:
        sources.append(("the test configuration", overrides))
    for source, mapping in sources:
        for name, value in mapping.items():
            if name == "INSTANCE_PATH":
                continue
            setting = _BY_NAME.get(name) or _BY_ALIAS.get(name)
            if setting is not None:
                values[setting.name] = value
            elif name in FLASK_KEYS:
                flask_keys[name] = value
            else:
                raise ConfigurationError(_unknown(name, source))
    if instance:
        values["CONSENT_INSTANCE_PATH"] = str(instance)
    converted = {setting.attribute: _coerce(setting, values[setting.name]) for setting in SETTINGS}
    return Settings(**converted, flask=flask_keys)


def _coerce(setting: Setting | None, value: Any) -> Any:
    assert setting is not None
    try:
        return setting.coerce(value)
    except ValueError as exc:
        shown = "(hidden)" if setting.secret else repr(value)[:60]
        raise ConfigurationError(f"{setting.name} must be {exc}; got {shown}.") from exc


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        name: _decoded(value)
        for name, value in environ.items()
        if name.startswith(ENV_PREFIX) and not name.startswith(FOREIGN_PREFIXES)
    }


def _decoded(raw: str) -> Any:
    """An environment variable's value: a number or true/false when it reads as JSON one,
    else the text itself."""
    try:
        decoded = json.loads(raw)
    except ValueError:
        return raw
    return decoded if isinstance(decoded, int | float | bool) else raw


def _read_config_file(path: Path) -> dict[str, Any]:
    """The upper-case names instance/config.py defines (Flask's from_pyfile rule)."""
    try:
        defined = runpy.run_path(str(path))
    except Exception as exc:
        raise ConfigurationError(f"{path} cannot be read: {type(exc).__name__}.") from exc
    return {name: value for name, value in defined.items() if name.isupper()}


def _unknown(name: str, source: str) -> str:
    known = [*_BY_NAME, *_BY_ALIAS]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else ""
    return (
        f"Unknown setting {name} in {source}.{hint} "
        "The settings are listed in consent/settings.py (and docs/operations.md)."
    )
