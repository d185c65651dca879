"""The application factory: configuration layers, extensions, blueprints, commands."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from consent.errors import ConfigurationError
from consent.settings import DEFAULTS, body_limit, from_environment
from consent.web.uploads import ConsentRequest

MIGRATIONS_DIR = str(Path(__file__).parent / "db" / "migrations")
#: The packages that hold tables, each in its ``models`` module (lower layers first).
MODEL_PACKAGES = ("accounts", "forms", "patients", "media", "ledger", "consents", "webhooks")


class ConsentFlask(Flask):
    """Flask, with uploads kept in memory when small (consent.web.uploads), and the coroutine check
    of each view and hook made once rather than per request.

    Flask asks ``inspect.iscoroutinefunction`` of every before/after hook and view on every
    request; on the verify hot path that was 3 % of the time. The answer never changes for a
    function, so it is remembered (the functions are the app's own hooks and views: a bounded set).
    """

    request_class = ConsentRequest

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

    Raises ConfigurationError when the secret key or the signing keys are missing: the service
    never invents a secret.
    """
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "CONSENT_INSTANCE_PATH"
    )
    app = ConsentFlask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    app.config["MAX_CONTENT_LENGTH"] = body_limit(app.config)
    _configure_database(app)
    if not app.config.get("SECRET_KEY"):
        raise ConfigurationError(
            "SECRET_KEY is not set: run `make run` (or python -m consent.cli.bootstrap) once, "
            "or set CONSENT_SECRET_KEY."
        )
    _init_extensions(app)
    from consent.web.verifylimit import init_verify_limit

    init_verify_limit(app)
    from consent.web.fastpath import VerifyFastPath
    from consent.web.requestlog import RequestLog, configure_logging
    from consent.web.securityheaders import SecurityHeaders

    configure_logging(app.config["CONSENT_LOG_LEVEL"])
    # Outermost: every request is logged, the verify fast path's included.
    app.wsgi_app = RequestLog(  # type: ignore[method-assign]
        SecurityHeaders(
            VerifyFastPath(app, app.wsgi_app),
            public_url_is_https=app.config["CONSENT_PUBLIC_URL"].startswith("https://"),
        )
    )
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Read the client's address and scheme from the headers of the configured proxies.

    Per-address rate limits (log-in, withdrawal codes) count the address this gives: behind a
    proxy without it, every visitor shares the proxy's counter; trusting headers with no proxy
    in front would let a client pick its own address. Raises ConfigurationError for a count
    that is not a whole number from 0 to 5.
    """
    count = app.config["CONSENT_TRUSTED_PROXIES"]
    if type(count) is not int or not 0 <= count <= 5:
        raise ConfigurationError(
            f"CONSENT_TRUSTED_PROXIES must be a whole number from 0 to 5, not {count!r}."
        )
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def _configure_database(app: Flask) -> None:
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        uri = "sqlite:///" + str(Path(app.instance_path) / "consent.sqlite3")
    # psycopg 3 is the PostgreSQL driver; accept the plain postgresql:// form too.
    for plain in ("postgresql://", "postgres://"):
        if uri.startswith(plain):
            uri = "postgresql+psycopg://" + uri[len(plain) :]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    if uri.startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("connect_args", {"timeout": 30})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite enforces foreign keys only when asked, per connection.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a consent acknowledged to a client survives a power cut, not only a crash.
        cursor.execute("PRAGMA synchronous=FULL")
        # Deleted content is overwritten with zeros: an erased patient's wrapped key must not
        # linger in free pages of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        # Verify reads a few pages per call: keep them in memory (64 MiB of cache, and up to
        # 1 GiB mapped, of which only the pages read count) rather than in the default 2 MiB,
        # so that latency does not grow with the data set.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=1073741824")
        cursor.close()


def _init_pages(app: Flask) -> None:
    """The HTML side: CSRF, clinician log-in, the FR/EN interface, tablet and clinician pages."""
    from consent.pages.clinician import blp as clinician_blp
    from consent.pages.clinician import load_account
    from consent.pages.paper import blp as paper_blp
    from consent.pages.public import blp as public_blp
    from consent.pages.tablet import blp as tablet_blp
    from consent.pages.withdraw import blp as withdraw_blp
    from consent.web.extensions import babel, csrf, login_manager
    from consent.web.i18n import select_locale

    secure = app.config["CONSENT_PUBLIC_URL"].startswith("https://")
    app.config.setdefault("SESSION_COOKIE_SECURE", secure)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_SECURE", secure)
    # Every session cookie expires: a clinician's log-in after a working day, a tablet's
    # flow long before (its signing link lasts CONSENT_SIGNING_LINK_MINUTES).
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["CONSENT_SESSION_HOURS"])
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "clinician.login"
    login_manager.user_loader(load_account)
    babel.init_app(app, locale_selector=select_locale)
    for blueprint in (tablet_blp, clinician_blp, paper_blp, public_blp, withdraw_blp):
        app.register_blueprint(blueprint)
    from flask_babel import get_locale

    from consent.pages.labels import PURPOSE_LABELS, RELATIONSHIP_LABELS, STATE_LABELS

    app.jinja_env.globals.update(
        get_locale=get_locale,
        purpose_labels=PURPOSE_LABELS,
        relationship_labels=RELATIONSHIP_LABELS,
        state_labels=STATE_LABELS,
    )
    app.jinja_env.filters["purpose_label"] = lambda purpose: PURPOSE_LABELS.get(purpose, purpose)
    from consent.documents.render import long_date

    # "29 November 2027" in the person's language, rather than 2027-11-29.
    app.jinja_env.filters["long_date"] = long_date


def import_models() -> None:
    """Register every table with the metadata (before migrations or a query need them)."""
    for package in MODEL_PACKAGES:
        importlib.import_module(f"consent.{package}.models")
    importlib.import_module("consent.consents.expiry_models")


def _init_extensions(app: Flask) -> None:
    import_models()
    from consent.api import api
    from consent.db import db, migrate
    from consent.errors import register_error_handlers
    from consent.runtime import load_runtime
    from consent.web.extensions import csrf
    from consent.web.sessions import LazyCookieSessionInterface

    app.session_interface = LazyCookieSessionInterface()
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API key."}
    )
    from consent.api.consents import blp as consents_blp
    from consent.api.documents import blp as documents_blp
    from consent.api.forms import blp as forms_blp
    from consent.api.interop import blp as interop_blp
    from consent.api.log import blp as log_blp
    from consent.api.log import consent_proof_blp
    from consent.api.media import blp as media_blp
    from consent.api.patients import blp as patients_blp
    from consent.api.verify import blp as verify_blp
    from consent.api.verify import keys_blp
    from consent.api.webhooks import blp as webhooks_blp

    for blueprint in (
        forms_blp,
        patients_blp,
        media_blp,
        consents_blp,
        consent_proof_blp,
        documents_blp,
        verify_blp,
        log_blp,
        keys_blp,
        webhooks_blp,
        interop_blp,
    ):
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)  # bearer keys, no cookies: nothing for a forged form to ride on
    _init_pages(app)
    register_error_handlers(app)
    from consent.web import ratelimits

    ratelimits.init_app(app)
    app.extensions["consent"] = load_runtime(app)
    from consent.cli.commands import register_commands

    register_commands(app)
    from consent.webhooks.delivery import init_worker

    init_worker(app)
