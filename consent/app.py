"""The application factory: settings, then each layer's ``init_app``, then the WSGI layers."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from consent.crypto.private import check_private_instance, create_private_database, sqlite_path
from consent.errors import ConfigurationError
from consent.settings import Settings
from consent.settings import load as load_settings
from consent.web.uploads import UploadAwareRequest

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = str(PACKAGE_DIR / "db" / "migrations")
TEMPLATES_DIR = str(PACKAGE_DIR.parent / "templates")
#: The packages that hold tables, each in its ``models`` module (lower layers first).
MODEL_PACKAGES = (
    "accounts",
    "forms",
    "patients",
    "media",
    "ledger",
    "consents",
    "webhooks",
    "notifications",
)
# flask-smorest's OpenAPI document: constants of the service, not settings of a deployment.
OPENAPI = {
    "API_TITLE": "Consent service",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    # Every API route needs a bearer key unless its blueprint says otherwise.
    "API_SPEC_OPTIONS": {"security": [{"bearerAuth": []}]},
}


class ConsentFlask(Flask):
    """Flask, with uploads kept in memory when small (consent.web.uploads), and the coroutine
    check of each view and hook made once rather than per request.

    Flask asks ``inspect.iscoroutinefunction`` of every before/after hook and view on every
    request; on the verify hot path that was 3 % of the time. The answer never changes for a
    function, so it is remembered (the functions are the app's own hooks and views: a bounded set).
    """

    request_class = UploadAwareRequest

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        synced = self._synced.get(func)
        if synced is None:
            synced = self._synced[func] = super().ensure_sync(func)
        return synced


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then CONSENT_* variables, then tests'.

    Raises ConfigurationError for an unknown or invalid setting, and when the secret key or the
    signing keys are missing: the service never invents a secret.
    """
    settings = load_settings(
        instance_path=os.environ.get("CONSENT_INSTANCE_PATH"), overrides=test_config
    )
    instance_path = settings.instance_path
    app = ConsentFlask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        template_folder=TEMPLATES_DIR,
    )
    if settings.instance_path is None:
        settings = settings.replace(instance_path=app.instance_path)
    if not settings.secret_key:
        raise ConfigurationError(
            "SECRET_KEY is not set: run `make run` (or python -m consent.scripts.bootstrap) once, "
            "or set CONSENT_SECRET_KEY."
        )
    app.config.from_mapping(flask_config(settings))
    database = sqlite_path(app.config["SQLALCHEMY_DATABASE_URI"])
    if database is not None:
        create_private_database(database)
    check_private_instance(Path(app.instance_path), database)
    import_models()

    from consent import api, pages
    from consent.cli.commands import register_commands
    from consent.db import db, migrate
    from consent.runtime import load_runtime
    from consent.web import setup

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    api.init_app(app)
    pages.init_app(app)
    # After the API's: its error handlers replace flask-smorest's own.
    setup.init_app(app, settings)
    app.extensions[setup.RUNTIME] = load_runtime(settings, app.url_map)
    setup.watch_keys(app)
    register_commands(app)
    setup.wrap(app, settings)
    return app


def flask_config(settings: Settings) -> dict[str, Any]:
    """Flask's and its extensions' own keys, from the settings."""
    uri = settings.database_url or "sqlite:///" + str(
        Path(settings.instance_path or ".") / "consent.sqlite3"
    )
    engine_options = dict(settings.flask.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        engine_options.setdefault("connect_args", {"timeout": 30})
    elif uri.startswith("postgresql"):
        # The service's queries are short: PostgreSQL's JIT compiled the worklist's counts for
        # longer than they ran (bench/RESULTS.md, issue 18). Off for our connections only,
        # unless instance/config.py gives its own "options" (docs/operations.md).
        connect_args = dict(engine_options.get("connect_args") or {})
        connect_args.setdefault("options", "-c jit=off")
        engine_options["connect_args"] = connect_args
    secure = settings.public_url_is_https
    return {
        **OPENAPI,
        "JSON_SORT_KEYS": False,
        **settings.flask,
        "SECRET_KEY": settings.secret_key,
        "SQLALCHEMY_DATABASE_URI": uri,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "MAX_CONTENT_LENGTH": settings.body_limit,
        # Every cookie the service sets (the session, and Flask-Login's remember cookie, which
        # it never sets today) is Secure when the service is reached over https, SameSite=Lax
        # (no cross-site POST carries it) and out of scripts' reach.
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        # Every session cookie expires: a clinician's log-in after a working day, a tablet's
        # flow long before (its signing link lasts CONSENT_SIGNING_LINK_MINUTES).
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=settings.session_hours),
        "RATELIMIT_STORAGE_URI": settings.ratelimit_storage_uri,
        # Counting must never take the service down: with Redis unreachable, count in memory.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": settings.flask.get("RATELIMIT_KEY_PREFIX", "consent"),
    }


def import_models() -> None:
    """Register every table with the metadata (before migrations or a query need them)."""
    for package in MODEL_PACKAGES:
        importlib.import_module(f"consent.{package}.models")
