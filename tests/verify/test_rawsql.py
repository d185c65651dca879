"""The verify statement run on a held DBAPI connection (consent/rawsql.py) reads what the ORM
would, sees every commit at once, and leaves nothing open behind it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, select, text

from consent.consents.models import Consent
from consent.db import db as _db
from consent.db.readpath import PreparedRead, _connections
from consent.ledger.models import LogHead
from consent.verify.statements import BY_SHA256 as _BY_SHA256
from consent.verify.statements import HEAD as _HEAD
from tests.conftest import dispose, make_app
from tests.factories import Flow, api_key, photo


@pytest.fixture
def flow(client: Any) -> Flow:
    return Flow(client, api_key())


def test_rows_are_the_ones_sqlalchemy_reads(app: Flask, flow: Flow) -> None:
    given = flow.consent(photo(1), {"teaching": True, "public_social_network": False})
    sha = given["media"]["sha256"]
    flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal",
        json={"purposes": ["teaching"]},
        headers=flow.headers,
    )
    fast = _BY_SHA256.all(_db.engine, sha256=sha)
    core = _db.session.execute(_BY_SHA256.statement, {"sha256": sha}).all()
    assert fast and [tuple(row) for row in fast] == [tuple(row) for row in core]
    assert fast[0].consent_id == given["consent_id"] and fast[0].withdrawal_id is not None
    assert isinstance(fast[0].head_root, bytes) and isinstance(fast[0].consent_receipt, bytes)
    assert _BY_SHA256.all(_db.engine, sha256="0" * 64) == []


def test_a_commit_is_seen_by_the_next_read(app: Flask, flow: Flow) -> None:
    (size, root) = _HEAD.all(_db.engine)[0]
    assert size == 0
    flow.consent(photo(2), {"teaching": True})  # committed on another connection
    (size_after, root_after) = _HEAD.all(_db.engine)[0]
    assert size_after == 1 and root_after != root
    assert (size_after, root_after) == tuple(
        _db.session.execute(select(LogHead.size, LogHead.root)).one()
    )


def test_no_transaction_is_left_open_between_reads(app: Flask) -> None:
    _HEAD.all(_db.engine)
    connection = _connections.get(_db.engine)
    assert connection is not None
    if _db.engine.dialect.name == "postgresql":
        # An open transaction would pin a snapshot and block TRUNCATE and migrations.
        state = _db.session.execute(
            text("SELECT state FROM pg_stat_activity WHERE pid = :pid"),
            {"pid": connection.info.backend_pid},
        ).scalar_one()
        assert state == "idle"
    else:
        assert not connection.in_transaction


def test_disposing_the_engine_closes_the_held_connections(
    instance_dir: Path, database_url: str
) -> None:
    other = make_app(instance_dir, database_url)
    with other.app_context():
        engine = _db.engine
        _HEAD.all(engine)
        connection = _connections.get(engine)
        assert connection is not None
    dispose(other)
    assert _connections.get(engine) is None
    with pytest.raises(Exception, match="closed"):
        connection.cursor().execute("SELECT 1")


def test_parameters_needing_conversion_are_refused(app: Flask) -> None:
    read = PreparedRead(
        select(Consent.id).where(Consent.issued_at < bindparam("at", type_=Consent.issued_at.type))
    )
    with pytest.raises(TypeError, match="bind processor"):
        read.all(_db.engine, at=None)
