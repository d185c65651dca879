"""A database recorded before care teams (migration 0009, tests/assets/pre-teams) upgrades to
the current schema with nothing lost: every log entry byte for byte, every receipt still
verifying, the audit passing, the living consent still answering verify, every record in the
default team, and new receipts (version 2) logged after the old ones."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from consent.accounts.models import Account, ApiKey, Integration, Membership, Team
from consent.accounts.teams import create_team
from consent.consents.models import Consent, ConsentRequest, Withdrawal
from consent.crypto.receipts import verify_stored
from consent.db import db
from consent.media.models import MediaItem
from consent.patients.models import Patient
from consent.scripts.bootstrap import write_instance_secrets
from consent.verify.service import decide
from consent.web.context import runtime
from consent.webhooks.models import WebhookEndpoint
from consent.workflows.audit import audit
from tests.conftest import dispose, make_app
from tests.factories import Flow, key_for, photo

FIXTURE = Path(__file__).parent / "assets" / "pre-teams"
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "api"


def fixture_app(fixture: Path, directory: Path, database: str) -> Flask:
    """An app over a copy of a recorded database and its media, with the keys it was made
    with (test keys: signing seed bytes 0..31, master key bytes 32..63)."""
    instance = directory / "instance"
    write_instance_secrets(instance)
    shutil.copytree(fixture / "media", instance / "media")
    shutil.copy(fixture / database, directory / database)
    # Copies of files from the repository keep its modes; the service wants its own (0700/0600).
    for path in (instance / "media", *(instance / "media").rglob("*"), directory / database):
        path.chmod(0o700 if path.is_dir() else 0o600)
    return make_app(
        instance,
        "sqlite:///" + str(directory / database),
        CONSENT_SIGNING_KEYS=base64.b64encode(bytes(range(32))).decode(),
        CONSENT_KEY_NAME="consent.test/consent-log",
        CONSENT_MASTER_KEY=base64.b64encode(bytes(range(32, 64))).decode(),
    )


def _leaves() -> list[tuple[int, bytes, bytes, str, str]]:
    with db.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text('SELECT "index", leaf_hash, data, kind, record_id FROM log_leaves ORDER BY 1')
            )
        ]


@pytest.fixture
def upgraded(tmp_path: Path) -> Iterator[tuple[Flask, list[tuple[int, bytes, bytes, str, str]]]]:
    app = fixture_app(FIXTURE, tmp_path, "pre-teams.sqlite3")
    try:
        with app.app_context():
            version = db.session.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar() == "0009"
            before = _leaves()
            db.session.remove()
            upgrade(directory=app.extensions["migrate"].directory)
            yield app, before
            db.session.remove()
    finally:
        dispose(app)


def test_every_entry_and_receipt_survives_and_the_audit_passes(
    upgraded: tuple[Flask, list[tuple[int, bytes, bytes, str, str]]],
) -> None:
    _app, before = upgraded
    assert len(before) > 5
    assert _leaves() == before
    report = audit(db.session, runtime().keyring)
    assert report.ok, report.findings
    assert report.leaves == len(before)
    schema = json.loads((SCHEMAS / "receipt.schema.json").read_text())
    for _index, _hash, data, _kind, _record in before:
        envelope = json.loads(data)
        assert envelope["receipt"]["receipt_version"] == 1
        jsonschema.validate(envelope, schema)  # the old receipts still follow the schema
    for consent in db.session.scalars(select(Consent)):
        verify_stored(
            body_bytes=consent.receipt,
            signature=consent.signature,
            key_id=consent.key_id,
            keys=runtime().keyring,
        )


def test_every_record_moves_into_the_default_team(
    upgraded: tuple[Flask, list[tuple[int, bytes, bytes, str, str]]],
) -> None:
    team = db.session.scalars(select(Team)).one()
    assert team.slug == "default"
    for model in (Patient, MediaItem, ConsentRequest, Consent, Withdrawal, WebhookEndpoint):
        teams = set(db.session.scalars(select(model.team_id)))
        assert teams == {team.id}, model.__name__
    accounts = db.session.scalar(text("SELECT count(*) FROM accounts"))
    members = db.session.scalar(select(func.count()).select_from(Membership))
    assert accounts and members == accounts
    # The publisher's key acted for no account: it now acts for an integration of the team.
    keys = db.session.scalars(select(ApiKey)).all()
    assert {key.team_id for key in keys} == {team.id}
    unbound = [key for key in keys if key.account_id is None]
    assert unbound and all(key.integration_id for key in unbound)
    integration = db.session.scalars(select(Integration)).one()
    assert integration.name == "Keys from before teams"


def test_the_living_consent_still_answers_and_new_receipts_follow(
    upgraded: tuple[Flask, list[tuple[int, bytes, bytes, str, str]]],
) -> None:
    app, before = upgraded
    consent_id, sha256 = (FIXTURE / "live.txt").read_text().split()
    rt = runtime()

    def decision(purpose: str) -> str:
        answer = decide(
            sha256=sha256, purpose=purpose, channel=None, engine=db.engine, keyring=rt.keyring
        ).answer
        assert answer["consent_id"] == consent_id
        # What its version 1 receipt says: the API then took the caller's word for the method.
        assert answer["method"] == "tablet"
        return str(answer["decision"])

    assert decision("teaching") == "allowed"
    assert decision("survey") == "withdrawn"
    # Its patient, media and documents are still there for the clinician of the team.
    clinician = db.session.scalar(
        text("SELECT id FROM accounts WHERE email = 'dr.live@hospital.test'")
    )

    flow = Flow(
        app.test_client(),
        key_for(
            db.session.get_one(Account, clinician),
            ("verify", "consents:write"),
            team_slug="default",
        ),
    )
    pdf = flow.client.get(f"/api/v1/consents/{consent_id}/receipt.pdf", headers=flow.headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    # A new consent goes into the same log as a version 2 receipt, and the audit still passes.
    given = flow.consent(photo(77), {"teaching": True})
    assert given["receipt"]["receipt"]["receipt_version"] == 2
    assert len(_leaves()) == len(before) + 1
    report = audit(db.session, rt.keyring)
    assert report.ok, report.findings


def test_undoing_teams_is_refused_once_it_would_lose_something(
    upgraded: tuple[Flask, list[tuple[int, bytes, bytes, str, str]]],
) -> None:
    app, before = upgraded
    directory = app.extensions["migrate"].directory
    create_team(db.session, slug="cardiology", name="Cardiology")
    db.session.commit()
    db.session.remove()
    with pytest.raises(SystemExit):  # Flask-Migrate reports the migration's error and exits
        downgrade(directory=directory, revision="0009")
    version = db.session.execute(text("SELECT version_num FROM alembic_version"))
    assert version.scalar() == "0010"
    assert db.session.scalar(select(func.count()).select_from(Team)) == 2
    db.session.execute(text("DELETE FROM teams WHERE slug = 'cardiology'"))
    db.session.commit()
    db.session.remove()
    # With one team and nothing only teams can say, it is undone, every entry kept.
    downgrade(directory=directory, revision="0009")
    assert _leaves() == before
    version = db.session.execute(text("SELECT version_num FROM alembic_version"))
    assert version.scalar() == "0009"
