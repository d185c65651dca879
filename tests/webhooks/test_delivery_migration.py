"""Migration 0019 changes the event types webhook_deliveries accepts; on SQLite it rebuilds the
table (consent/db/migrations/sqlite_rebuild.py) under the foreign key of webhook_attempts.
Undone and done again on a database holding a delivery and its attempt, every row comes
through byte for byte and every reference holds, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from consent.db import db
from tests.factories import Flow
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
    app: Flask, flow: Flow, key: str
) -> None:
    with running_receiver(script=[500]) as receiver:
        endpoint = register(flow.client, key, receiver.url)
    directory, head = app.extensions["migrate"].directory, _version()
    db.session.remove()
    # Media stored since 0021 are under keys only its rows hold, so 0021 refuses to be undone
    # once any exists (tests/subjects/test_subject_migrations.py): the delivery this test
    # carries through 0019 is written at 0019, as the deliverer wrote it then.
    downgrade(directory=directory, revision="0019")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO webhook_deliveries (id, endpoint_id, event_type, payload, state,"
                " attempts, next_attempt_at, created_at) VALUES (:id, :endpoint, "
                "'consent.created', :payload, 'pending', 1, :at, :at)"
            ),
            {
                "id": "wd_" + "1" * 32,
                "endpoint": endpoint["id"],
                "payload": '{"type":"consent.created"}',
                "at": "2026-12-07 10:00:00.000000",
            },
        )
        connection.execute(
            text(
                "INSERT INTO webhook_attempts (delivery_id, number, attempted_at, duration_ms,"
                " status_code, error, response_body) VALUES (:delivery, 1, :at, 12, 500,"
                " 'HTTP 500', :body)"
            ),
            {"delivery": "wd_" + "1" * 32, "at": "2026-12-07 10:00:01.000000", "body": b"no"},
        )
    before = _stored()
    assert len(before["webhook_deliveries"]) == len(before["webhook_attempts"]) == 1
    try:
        downgrade(directory=directory, revision="0018")
        assert _stored() == before
    finally:
        upgrade(directory=directory)
    assert _stored() == before and _version() == head
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
