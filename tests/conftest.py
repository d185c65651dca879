"""Fixtures: one app per test session on SQLite, or on PostgreSQL when
CONSENT_TEST_DATABASE_URL is set; every test starts from empty tables and the form catalogue."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from consent import create_app
from consent.db import db as _db
from consent.forms.catalogue import FORMS_DIR
from consent.ledger.merkle import EMPTY_ROOT
from consent.ledger.models import LogHead
from consent.scripts.bootstrap import prepare_database, write_instance_secrets
from consent.settings import _BY_NAME as SETTINGS_BY_NAME
from consent.web import ratelimits
from consent.web.context import EXTENSION as RUNTIME
from consent.web.context import runtime, settings
from consent.web.verifylimit import EXTENSION as VERIFY_LIMIT
from consent.workflows.catalogue import form_placeholders, sync_catalogue

POSTGRES_URL = os.environ.get("CONSENT_TEST_DATABASE_URL")


def pytest_report_header() -> str:
    return f"consent database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    write_instance_secrets(path)
    return path


@pytest.fixture(scope="session")
def database_url(instance_dir: Path) -> str:
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)
        return POSTGRES_URL
    return "sqlite:///" + str(instance_dir / "test.sqlite3")


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(instance_dir: Path, database_url: str, **extra: Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance_dir),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "CONSENT_PUBLIC_URL": "http://consent.test",
            **extra,
        }
    )


def dispose(app: Flask) -> None:
    """Close an app's pooled connections (psycopg warns about connections left open)."""
    with app.app_context():
        _db.session.remove()
        for engine in _db.engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def _session_app(instance_dir: Path, database_url: str) -> Iterator[Flask]:
    app = make_app(instance_dir, database_url)
    prepare_database(app)  # through the migrations, as in production

    def fresh_globals() -> None:
        # Tests hold one app context open (for db access), so Flask reuses it, and its `g`,
        # for every request; production has one per request. Without this, a CSRF token or a
        # logged-in user cached in `g` by one test client would leak into another's request.
        for name in list(vars(g)):
            delattr(g, name)

    app.before_request_funcs.setdefault(None, []).insert(0, fresh_globals)
    yield app
    dispose(app)


def empty_tables(app: Flask) -> None:
    with app.app_context():
        _db.session.remove()
        tables = list(reversed(_db.metadata.sorted_tables))
        with _db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(table.name for table in tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(table.delete())
            # The empty log's head, as migration 0002 writes it.
            connection.execute(LogHead.__table__.insert(), {"id": 1, "size": 0, "root": EMPTY_ROOT})
        sync_catalogue(_db.session, FORMS_DIR, form_placeholders(settings(app)))
        _db.session.commit()


@pytest.fixture
def app(_session_app: Flask) -> Iterator[Flask]:
    empty_tables(_session_app)
    _session_app.extensions[VERIFY_LIMIT].reset()
    # Rate-limit counters start from zero too: one test's attempts never limit the next's.
    ratelimits.reset(_session_app)
    with _session_app.app_context():
        yield _session_app
        _db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def db(app: Flask) -> Any:
    return _db


class LiveSettings:
    """The app's settings by CONSENT_* name; a change made here lasts until the test ends."""

    def __init__(self, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
        self.app = app
        self.monkeypatch = monkeypatch

    def __getitem__(self, name: str) -> Any:
        return getattr(runtime(self.app).settings, SETTINGS_BY_NAME[name].attribute)

    def __setitem__(self, name: str, value: Any) -> None:
        current = runtime(self.app)
        changed = current.with_settings(current.settings.replace(**{name: value}))
        self.monkeypatch.setitem(self.app.extensions, RUNTIME, changed)


@pytest.fixture
def configure(app: Flask, monkeypatch: pytest.MonkeyPatch) -> LiveSettings:
    """Change a setting of the running app for one test: ``configure["CONSENT_X"] = value``."""
    return LiveSettings(app, monkeypatch)


# Host names the tests register webhooks for, and the addresses they resolve to here: the
# machine has no DNS, and a name's address is what the service judges (consent.webhooks.egress).
# 93.184.215.14 stands for any public address.
TEST_HOSTS = {
    "publisher.example": ["93.184.215.14"],
    "intranet.hospital.internal": ["10.1.2.3"],
    "metadata.google.internal": ["169.254.169.254"],
    "mixed.example": ["93.184.215.14", "127.0.0.1"],
}


@pytest.fixture(autouse=True)
def test_host_names(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Resolve the tests' webhook host names without DNS; every other name as the system does.
    A test changes the mapping to make a name resolve elsewhere (rebinding)."""
    from consent.webhooks import egress

    names = {name: list(addresses) for name, addresses in TEST_HOSTS.items()}
    real = egress.resolve

    def resolve(host: str, port: int) -> list[str]:
        for name, addresses in names.items():
            if host == name or host.endswith("." + name):
                return list(addresses)
        return real(host, port)

    monkeypatch.setattr(egress, "resolve", resolve)
    return names


@pytest.fixture(scope="session")
def timestamp_authority() -> Iterator[Any]:
    """A real RFC 3161 authority: `openssl ts -reply` with its own CA, over local HTTP."""
    from tests.tsa.authority import OpensslTsa

    authority = OpensslTsa()
    yield authority
    authority.close()


@pytest.fixture
def timestamping(app: Flask, timestamp_authority: Any) -> Iterator[Any]:
    """The app, for one test, with CONSENT_TSA_URLS and CONSENT_TSA_CA_CERTS set to the test
    authority (its checkpoints get timestamps, its PDF seals signature timestamps)."""
    import dataclasses

    from consent.runtime import load_sealer, load_timestamping

    before = app.extensions[RUNTIME]
    changed = before.settings.replace(
        CONSENT_TSA_URLS=timestamp_authority.url,
        CONSENT_TSA_CA_CERTS=str(timestamp_authority.ca_path),
    )
    tsa = load_timestamping(changed)
    app.extensions[RUNTIME] = dataclasses.replace(
        before.with_settings(changed), timestamping=tsa, sealer=load_sealer(changed, tsa)
    )
    timestamp_authority.down = False
    try:
        yield timestamp_authority
    finally:
        timestamp_authority.down = False
        app.extensions[RUNTIME] = before
