"""Backup and restore: `export` then `import` into an empty database gives back the same
records. After the round trip the audit passes, the log's size and root are the same, every
receipt is byte for byte the same, and every verify answer (every media item x purpose x
channel) is the same, signature included. Tested from the suite's database (SQLite or
PostgreSQL) into a new SQLite file, and into a second PostgreSQL database when
CONSENT_TEST_PEER_DATABASE_URL names one (.ci/run does): SQLite -> PostgreSQL, PG -> PG."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from consent import clock
from consent.accounts.scope import EVERY_TEAM
from consent.consents.models import Consent, Withdrawal
from consent.consents.uses import PURPOSES
from consent.crypto.keyring import load_key_file
from consent.db import db
from consent.ledger import store
from consent.ledger.models import LogLeaf
from consent.media.models import MediaItem
from consent.media.subjects import media_key
from consent.patients.models import Patient, PatientErasure
from consent.patients.service import identity
from consent.runtime import keys_dir
from consent.scripts.bootstrap import prepare_database
from consent.verify.service import decide
from consent.web.context import runtime, settings
from consent.webhooks.models import WebhookEndpoint
from consent.workflows.audit import audit
from consent.workflows.backup.tables import EXCLUDED, TABLES
from tests.conftest import _reset_postgres, dispose, make_app
from tests.factories import Flow, member
from tests.interop.dataset import Dataset, build
from tests.webhooks.conftest import Clock

PEER_URL = os.environ.get("CONSENT_TEST_PEER_DATABASE_URL")
needs_peer = pytest.mark.skipif(
    not PEER_URL, reason="CONSENT_TEST_PEER_DATABASE_URL names no second PostgreSQL database"
)
CHANNELS = (None, "linkedin", "doximity")


@pytest.fixture
def data(flow: Flow, key: str, moving_clock: Clock) -> Dataset:
    return build(flow, key, moving_clock)


@contextmanager
def peer(instance_dir: Path, url: str, media_dir: Path) -> Iterator[Flask]:
    """A second app on an empty database (migrated, forms loaded), same keys, own media."""
    if url.startswith("postgresql"):
        _reset_postgres(url)
    app = make_app(instance_dir, url, CONSENT_MEDIA_DIR=str(media_dir))
    prepare_database(app)
    try:
        yield app
    finally:
        dispose(app)


def cli(target: Flask, *args: str) -> Any:
    """Run a command against ``target`` (the runner alone would use the app in context)."""
    with target.app_context():
        result = target.test_cli_runner().invoke(args=list(args))
        db.session.remove()
        return result


def snapshot(media: list[str], now: datetime) -> dict[str, Any]:
    """What must survive a round trip, read in the current app."""
    report = audit(db.session, runtime().keyring)
    assert report.ok, report.findings
    head = store.head(db.session)
    answers = {
        (sha256, purpose, channel): decide(
            sha256=sha256,
            purpose=purpose,
            channel=channel,
            engine=db.engine,
            keyring=runtime().keyring,
            now=now,
        ).envelope_json
        for sha256 in media
        for purpose in PURPOSES
        for channel in CHANNELS
    }
    return {
        "head": (head.size, head.root),
        "audit": (report.leaves, report.consents, report.withdrawals, report.root),
        "leaves": [
            (leaf.index, leaf.data, leaf.leaf_hash, leaf.kind, leaf.record_id)
            for leaf in db.session.scalars(select(LogLeaf).order_by(LogLeaf.index))
        ],
        "receipts": {
            row.id: (bytes(row.receipt), bytes(row.signature), row.key_id, row.log_index)
            for model in (Consent, Withdrawal, PatientErasure)
            for row in db.session.scalars(select(model))
        },
        "answers": answers,
    }


def round_trip(
    app: Flask, runner: FlaskCliRunner, data: Dataset, target: Flask, backup: Path
) -> None:
    now = clock.now()
    media = [*data.media.values(), "f" * 64]
    before = snapshot(media, now)
    decisions = {answer: json.loads(envelope)["answer"]["decision"]
                 for answer, envelope in before["answers"].items()}  # fmt: skip
    # The data set really holds every decision, so "the same" is not vacuous.
    assert set(decisions.values()) == {"allowed", "not_covered", "withdrawn", "expired", "unknown"}
    exported = runner.invoke(args=["export", str(backup), "--with-media"])
    assert exported.exit_code == 0, exported.output
    adult = data.patients["adult"]
    who = identity(db.session, runtime().vault, adult, scope=EVERY_TEAM)

    imported = cli(target, "import", str(backup))
    assert imported.exit_code == 0, imported.output
    assert "audit passed" in imported.output
    with target.app_context():
        after = snapshot(media, now)
        assert after["head"] == before["head"]
        assert after["audit"] == before["audit"]
        assert after["leaves"] == before["leaves"]
        assert after["receipts"] == before["receipts"]
        assert after["answers"] == before["answers"]
        # Sealed identity opens again under the same master key (the wrapped keys came too);
        # the erased patient stays erased.
        assert identity(db.session, runtime().vault, adult, scope=EVERY_TEAM) == who
        assert db.session.get(Patient, data.patients["erased"]).erased_at is not None
        # The encrypted media came along and decrypt with the item's key, opened with the
        # patient's (the media_subjects rows came too).
        item = db.session.scalars(select(MediaItem).where(MediaItem.patient_id == adult)).first()
        plain = b"".join(
            runtime().files.read(
                media_id=item.id, data_key=media_key(db.session, runtime().vault, item)
            )
        )
        assert len(plain) == item.size_bytes
        # Webhook secrets are sealed with the service secret: they open on the restored side.
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        assert runtime().vault.open_service_secret(endpoint.secret_sealed).startswith(b"whsec_")
        # Numbering goes on after the restored ids (PostgreSQL sequences were moved).
        member(email="new@hospital.test", display_name="Dr New", role="clinician")
        db.session.commit()
        db.session.remove()


def test_the_backup_lists_every_table_parents_first(app: Flask) -> None:
    assert set(TABLES) | EXCLUDED == set(db.metadata.tables)
    assert len(set(TABLES)) == len(TABLES)
    for position, name in enumerate(TABLES):
        parents = {key.column.table.name for key in db.metadata.tables[name].foreign_keys}
        assert parents - {name} <= set(TABLES[:position]), name


def test_round_trip_into_a_new_sqlite_database(
    app: Flask, runner: FlaskCliRunner, data: Dataset, tmp_path: Path, instance_dir: Path
) -> None:
    url = "sqlite:///" + str(tmp_path / "restored.sqlite3")
    with peer(instance_dir, url, tmp_path / "media") as target:
        round_trip(app, runner, data, target, tmp_path / "backup")


@needs_peer
def test_round_trip_into_a_new_postgresql_database(
    app: Flask, runner: FlaskCliRunner, data: Dataset, tmp_path: Path, instance_dir: Path
) -> None:
    assert PEER_URL is not None
    with peer(instance_dir, PEER_URL, tmp_path / "media") as target:
        round_trip(app, runner, data, target, tmp_path / "backup")


def test_a_tampered_backup_is_refused_and_nothing_is_imported(
    runner: FlaskCliRunner, data: Dataset, tmp_path: Path, instance_dir: Path
) -> None:
    backup = tmp_path / "backup"
    assert runner.invoke(args=["export", str(backup)]).exit_code == 0
    consents = backup / "tables" / "consents.jsonl"
    original = consents.read_bytes()
    rows = [json.loads(line) for line in original.splitlines()]
    # A receipt back-dated in the backup, its manifest hash left alone: refused by the hash.
    body = json.loads(base64.b64decode(rows[0]["receipt"]))
    body["expires_at"] = "2099-01-01T00:00:00Z"
    rows[0]["receipt"] = base64.b64encode(json.dumps(body).encode()).decode()
    forged = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows).encode()
    consents.write_bytes(forged)
    url = "sqlite:///" + str(tmp_path / "restored.sqlite3")
    with peer(instance_dir, url, tmp_path / "media") as target:
        refused = cli(target, "import", str(backup))
        assert refused.exit_code != 0
        assert "tables/consents.jsonl does not match its SHA-256" in refused.output
        # The same forgery with the manifest's hash updated too: the audit refuses it.
        import hashlib

        manifest = json.loads((backup / "manifest.json").read_text())
        manifest["files"]["tables/consents.jsonl"] = {
            "sha256": hashlib.sha256(forged).hexdigest(),
            "bytes": len(forged),
        }
        (backup / "manifest.json").write_text(json.dumps(manifest))
        refused = cli(target, "import", str(backup))
        assert refused.exit_code != 0
        assert "do not audit" in refused.output
        with target.app_context():
            for name in ("patients", "consents", "log_leaves"):
                assert (
                    db.session.scalar(select(func.count()).select_from(db.metadata.tables[name]))
                    == 0
                )
            assert store.head(db.session).size == 0
            db.session.remove()


def test_import_refuses_a_database_that_holds_records(
    runner: FlaskCliRunner, data: Dataset, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    assert runner.invoke(args=["export", str(backup)]).exit_code == 0
    leaves = db.session.scalar(select(func.count()).select_from(LogLeaf))
    refused = runner.invoke(args=["import", str(backup)])
    assert refused.exit_code != 0
    assert "The database is not empty" in refused.output
    assert db.session.scalar(select(func.count()).select_from(LogLeaf)) == leaves
    again = runner.invoke(args=["export", str(backup)])
    assert again.exit_code != 0 and "not empty" in again.output


def test_no_private_key_is_ever_in_a_backup(
    app: Flask, runner: FlaskCliRunner, data: Dataset, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    assert runner.invoke(args=["export", str(backup), "--with-media"]).exit_code == 0
    secrets = list(load_key_file(keys_dir(settings(app))).seeds)
    master = (keys_dir(settings(app)) / "master.key").read_bytes().strip()
    secrets.append(base64.b64decode(master))
    needles = [form for secret in secrets for form in
               (secret, base64.b64encode(secret), secret.hex().encode())]  # fmt: skip
    files = [path for path in backup.rglob("*") if path.is_file()]
    assert {p.relative_to(backup).parts[0] for p in files} == {
        "manifest.json", "tables", "log", "keys", "media"
    }  # fmt: skip
    for path in files:
        content = path.read_bytes()
        assert not any(needle in content for needle in needles), path
        assert path.stat().st_mode & 0o077 == 0, path  # health data: owner only
    keys = json.loads((backup / "keys" / "consent-keys.json").read_text())
    assert {key["key_id"] for key in keys["keys"]} == {
        key.key_id for key in runtime().keyring.public_keys()
    }


def test_a_backup_of_another_format_or_missing_a_file_is_refused(
    runner: FlaskCliRunner, data: Dataset, tmp_path: Path, instance_dir: Path
) -> None:
    backup = tmp_path / "backup"
    assert runner.invoke(args=["export", str(backup)]).exit_code == 0
    manifest_path = backup / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    url = "sqlite:///" + str(tmp_path / "restored.sqlite3")
    with peer(instance_dir, url, tmp_path / "media") as target:
        manifest_path.write_text(json.dumps({**manifest, "format_version": 2}))
        refused = cli(target, "import", str(backup))
        assert refused.exit_code != 0 and "Not a backup this version restores" in refused.output
        manifest_path.write_text(json.dumps({**manifest, "tables": "everything"}))
        refused = cli(target, "import", str(backup))
        assert refused.exit_code != 0 and "does not list" in refused.output
        manifest_path.write_text(json.dumps(manifest))
        (backup / "tables" / "withdrawals.jsonl").unlink()
        refused = cli(target, "import", str(backup))
        assert refused.exit_code != 0
        assert "tables/withdrawals.jsonl is missing" in refused.output
        refused = cli(target, "import", str(tmp_path / "nowhere"))
        assert refused.exit_code != 0 and "No backup directory" in refused.output
