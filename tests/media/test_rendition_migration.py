"""Migration 0007 on a SQLite database that already holds consents: SQLite cannot alter the
CHECK constraint on the log's leaf kinds, so 0007 rebuilds log_leaves under the foreign keys of
consents and withdrawals. Every leaf, reference and signature must come through intact.

Always on a SQLite file of its own (the PostgreSQL path is a plain ALTER TABLE, run by every
PostgreSQL session of the suite)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from consent.db import db
from consent.forms.catalogue import FORMS_DIR
from consent.web.context import runtime, settings
from consent.webhooks import events
from consent.workflows.audit import audit
from consent.workflows.catalogue import form_placeholders, sync_catalogue
from tests.conftest import dispose, make_app
from tests.factories import Flow, api_key, tagged_image


def test_0007_keeps_every_leaf_and_reference_of_a_populated_log(
    instance_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(instance_dir, "sqlite:///" + str(tmp_path / "before-0007.sqlite3"))
    directory = app.extensions["migrate"].directory
    try:
        with app.app_context():
            upgrade(directory=directory, revision="0006")
            sync_catalogue(db.session, FORMS_DIR, form_placeholders(settings(app)))
            db.session.commit()
            # As the code of 0006 did, before there were copies to name in a webhook.
            monkeypatch.setattr(events, "rendition_sha256", lambda session, media: [])
            flow = Flow(app.test_client(), api_key())
            given = flow.consent(tagged_image("jpeg"), {"teaching": True, "survey": True})
            withdrawn = flow.client.post(
                f"/api/v1/consents/{given['consent_id']}/withdrawal",
                json={"purposes": ["survey"]},
                headers=flow.headers,
            )
            assert withdrawn.status_code == 201, withdrawn.json
            with db.engine.connect() as connection:
                before = connection.execute(
                    text('SELECT "index", leaf_hash, data, kind, record_id FROM log_leaves')
                ).all()
            assert len(before) == 2
            monkeypatch.undo()

            upgrade(directory=directory)

            with db.engine.connect() as connection:
                after = connection.execute(
                    text('SELECT "index", leaf_hash, data, kind, record_id FROM log_leaves')
                ).all()
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                schema = connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'log_leaves'"
                ).scalar()
            assert after == before
            assert "'rendition'" in schema and '"index" >= 0' in schema  # no constraint lost
            db.session.remove()
            # The upgraded database works: a copy is made and logged, verify answers for it.
            copy = flow.client.post(
                f"/api/v1/media/{given['media']['id']}/publishable", headers=flow.headers
            )
            assert copy.status_code == 200, copy.json
            sha = hashlib.sha256(copy.get_data()).hexdigest()
            assert flow.verify(sha, "teaching")["answer"]["decision"] == "allowed"
            assert flow.verify(sha, "survey")["answer"]["decision"] == "withdrawn"
            report = audit(db.session, runtime().keyring)
            assert report.ok, report.findings
            assert (report.leaves, report.renditions) == (3, 1)
            db.session.remove()
            # Log entries are never deleted: 0007 cannot be undone once a copy is logged
            # (Flask-Migrate reports the migration's error and exits).
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
