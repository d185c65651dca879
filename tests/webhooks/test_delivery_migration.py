"""Migration 0019 changes the event types webhook_deliveries accepts; on SQLite it rebuilds the
table (consent/db/migrations/sqlite_rebuild.py) under the foreign key of webhook_attempts.
Undone and done again on a database holding a delivery and its attempt, every row comes
through byte for byte and every reference holds, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from consent.db import db
from tests.factories import Flow, photo
from tests.webhooks.conftest import register
from tests.webhooks.receiver import running_receiver


def _version() -> str | None:
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _stored() -> dict[str, list[tuple[Any, ...]]]:
    with db.engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(select_all))]
            for table, select_all in (
                ("webhook_deliveries", "SELECT * FROM webhook_deliveries ORDER BY id"),
                ("webhook_attempts", "SELECT * FROM webhook_attempts ORDER BY id"),
            )
        }


def test_0019_undone_and_done_again_keeps_every_delivery_and_attempt(
    app: Flask, flow: Flow, runner: FlaskCliRunner, key: str
) -> None:
    with running_receiver(script=[500]) as receiver:
        register(flow.client, key, receiver.url)
        flow.consent(photo(1), {"teaching": True})
        assert runner.invoke(args=["deliver"]).exit_code == 0
    before = _stored()
    assert len(before["webhook_deliveries"]) == len(before["webhook_attempts"]) == 1
    directory, head = app.extensions["migrate"].directory, _version()
    db.session.remove()
    downgrade(directory=directory, revision="0018")
    assert _stored() == before
    upgrade(directory=directory)
    assert _stored() == before and _version() == head
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
