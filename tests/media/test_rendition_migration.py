"""Migration 0007 on a SQLite database that already holds consents: SQLite cannot alter the
CHECK constraint on the log's leaf kinds, so 0007 rebuilds log_leaves under the foreign keys of
consents and withdrawals. Every leaf, reference and signature must come through intact.

The database was recorded by the code of its time (tests/assets/pre-renditions, at 0006) and
goes through every later migration: the models of today are not those of 0006. Always on a
SQLite file of its own (the PostgreSQL path is a plain ALTER TABLE, run by every PostgreSQL
session of the suite)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from consent.accounts.models import Account
from consent.db import db
from consent.web.context import runtime
from consent.workflows.audit import audit
from tests.conftest import dispose
from tests.factories import Flow, key_for
from tests.test_migration_teams import fixture_app

FIXTURE = Path(__file__).resolve().parents[1] / "assets" / "pre-renditions"


def _leaves() -> list[tuple[object, ...]]:
    with db.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text('SELECT "index", leaf_hash, data, kind, record_id FROM log_leaves ORDER BY 1')
            )
        ]


def test_0007_keeps_every_leaf_and_reference_of_a_populated_log(tmp_path: Path) -> None:
    consent_id, media_id, _sha256 = (FIXTURE / "consent.txt").read_text().split()
    app = fixture_app(FIXTURE, tmp_path, "pre-renditions.sqlite3")
    directory = app.extensions["migrate"].directory
    try:
        with app.app_context():
            version = db.session.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar() == "0006"
            before = _leaves()
            assert [leaf[3] for leaf in before] == ["consent", "withdrawal"]
            db.session.remove()

            upgrade(directory=directory, revision="0007")

            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                schema = connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'log_leaves'"
                ).scalar()
            assert _leaves() == before
            assert "'rendition'" in schema and '"index" >= 0' in schema  # no constraint lost

            upgrade(directory=directory)
            assert _leaves() == before
            # The upgraded database works: a copy is made and logged, verify answers for it.
            account = db.session.scalars(select(Account)).one()
            flow = Flow(
                app.test_client(),
                key_for(account, ("verify", "consents:write"), team_slug="default"),
            )
            copy = flow.client.post(f"/api/v1/media/{media_id}/publishable", headers=flow.headers)
            assert copy.status_code == 200, copy.json
            sha = hashlib.sha256(copy.get_data()).hexdigest()
            assert flow.verify(sha, "teaching")["answer"]["decision"] == "allowed"
            assert flow.verify(sha, "survey")["answer"]["decision"] == "withdrawn"
            assert flow.verify(sha, "teaching")["answer"]["consent_id"] == consent_id
            report = audit(db.session, runtime().keyring)
            assert report.ok, report.findings
            assert (report.leaves, report.renditions) == (3, 1)
            db.session.remove()
            # Log entries are never deleted: 0007 cannot be undone once a copy is logged
            # (Flask-Migrate reports the migration's error and exits).
            downgrade(directory=directory, revision="0007")
            with pytest.raises(SystemExit):
                downgrade(directory=directory, revision="0006")
            with db.engine.connect() as connection:
                version = connection.execute(text("SELECT version_num FROM alembic_version"))
                assert version.scalar() == "0007"
                kinds = connection.execute(text("SELECT kind FROM log_leaves ORDER BY 1"))
                assert kinds.scalars().all() == ["consent", "rendition", "withdrawal"]
                copies = connection.execute(text("SELECT sha256 FROM media_renditions"))
                assert copies.scalars().all() == [sha]
    finally:
        dispose(app)
