"""The service's settings: one typed, frozen ``Settings``, built and checked once by ``create_app``.

Layers, each overriding the one before: the defaults (consent.settings.known), then
``instance/config.py``, then the ``CONSENT_*`` environment variables, then the mapping a test
passes to ``create_app``. Every value is checked by its setting's own coercer (type, range,
format); a name the service does not know stops the start, naming the closest known one, so that
a misspelt variable never silently does nothing. Nothing is read at import time.

Secrets (the Flask secret key, keys given in the environment) have no default; the signing and
master keys are checked where they are loaded (consent.runtime).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consent.errors import ConfigurationError
from consent.settings.coerce import http_url
from consent.settings.known import _BY_ALIAS, _BY_NAME, ENV_PREFIX, SETTINGS, Setting

__all__ = ["MULTIPART_ALLOWANCE", "SETTINGS", "Settings", "http_url", "load"]

# Environment variables of the test suite, CI and benchmarks, never the service's own.
FOREIGN_PREFIXES = ("CONSENT_TEST_", "CONSENT_CI_", "CONSENT_BENCH_", "CONSENT_DEPLOY_")
# The publishing tools' own variables (consent-check: the service's address, its API key and
# pinned keys), which a terminal that runs both the tools and `flask` commands holds.
CLIENT_NAMES = frozenset({"CONSENT_URL", "CONSENT_API_KEY", "CONSENT_KEYS"})
# Room in a request body for the multipart framing and the form's other fields, beyond the file.
MULTIPART_ALLOWANCE = 64 * 1024
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
    max_check_pixels: int
    image_decodes: int
    image_decode_wait_seconds: float
    phash_max_distance: int
    keys_dir: str
    media_dir: str
    signing_keys: str | None = field(repr=False)
    next_signing_keys: str | None = field(repr=False)
    key_name: str | None
    log_origin: str | None
    master_key: str | None = field(repr=False)
    document_signing_cert: str
    document_signing_key: str
    tsa_urls: str | None
    tsa_ca_certs: str | None
    tsa_timeout_seconds: float
    api_key_days: int
    consent_days: int
    api_key_cache_seconds: float
    controller: str
    dpo_contact: str
    jurisdiction: str
    screen_places: str | None
    log_level: str
    local_passwords: bool
    oidc_issuer: str | None
    oidc_client_id: str | None
    oidc_client_secret: str | None = field(repr=False)
    oidc_provider_name: str
    oidc_scopes: str
    oidc_groups_claim: str
    oidc_group_map: str | None
    session_hours: int
    invitation_hours: int
    signing_link_minutes: int
    pdf_cache_bytes: int
    webhooks_allow_http: bool
    webhooks_allow_networks: tuple[str, ...]
    webhook_ca_file: str | None
    webhook_timeout_seconds: float
    webhook_max_attempts: int
    smtp_host: str | None
    smtp_port: int
    smtp_from: str
    smtp_starttls: bool
    smtp_username: str | None
    smtp_password: str | None = field(repr=False)
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
    tablet_done_minutes: int
    # Flask's own keys given by a test or instance/config.py, passed on as they are.
    flask: Mapping[str, Any] = field(default_factory=dict)

    @property
    def public_url_is_https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def sign_on(self) -> bool:
        """The hospital's OpenID Connect sign-on is configured."""
        return self.oidc_issuer is not None

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

    @property
    def tsa_url_list(self) -> list[str]:
        """The timestamping authorities, in the order they are tried."""
        return [url.strip() for url in (self.tsa_urls or "").split(",") if url.strip()]

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
    _check_sign_on(converted)
    return Settings(**converted, flask=flask_keys)


def _check_sign_on(values: Mapping[str, Any]) -> None:
    """The sign-on settings go together; staff must have some way in."""
    if values["oidc_issuer"]:
        missing = [
            name
            for name in ("CONSENT_OIDC_CLIENT_ID", "CONSENT_OIDC_GROUP_MAP")
            if not values[name.removeprefix(ENV_PREFIX).lower()]
        ]
        if missing:
            raise ConfigurationError(
                f"CONSENT_OIDC_ISSUER is set: {' and '.join(missing)} must be set too."
            )
        if "openid" not in values["oidc_scopes"].split():
            raise ConfigurationError("CONSENT_OIDC_SCOPES must include openid.")
    elif not values["local_passwords"]:
        raise ConfigurationError(
            "CONSENT_LOCAL_PASSWORDS is false and CONSENT_OIDC_ISSUER is unset: "
            "nobody could log in."
        )


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
        if name.startswith(ENV_PREFIX)
        and not name.startswith(FOREIGN_PREFIXES)
        and name not in CLIENT_NAMES
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


def places(settings: Settings) -> tuple[str, ...]:
    """The names of CONSENT_SCREEN_PLACES, one by one."""
    return tuple(name.strip() for name in (settings.screen_places or "").split(";") if name.strip())
