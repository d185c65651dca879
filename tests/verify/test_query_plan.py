"""Verify's statement reads what it must and no more: every step through an index, and the
media items and their requests from the index alone (migration 0008). A full scan here would
make every publishing tool's check grow with the number of consents stored."""

from __future__ import annotations

from typing import Any

from flask import Flask

from consent.db import db
from consent.db.readpath import PreparedRead
from consent.verify.statements import BY_SHA256 as _BY_SHA256
from consent.verify.statements import NEAR as _NEAR


def _plan(prepared: PreparedRead, values: dict[str, object]) -> str:
    """The database's plan for ``prepared``, asked on a DBAPI connection as the hot path runs it."""
    compiled = prepared._compile(db.engine)
    params: Any = {**compiled.defaults, **values}
    if compiled.positional is not None:
        params = tuple(params[name] for name in compiled.positional)
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if db.engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + compiled.sql, params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        # PostgreSQL chooses by statistics; on a near-empty table it may rightly prefer a
        # scan, so the plan is asked with scans priced out, as on a large table.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + compiled.sql, params)
        return "\n".join(str(row[0]) for row in cursor.fetchall())
    finally:
        connection.rollback()
        connection.close()


def test_the_exact_lookup_uses_the_covering_indexes(app: Flask) -> None:
    with app.app_context():
        plan = _plan(_BY_SHA256, {"sha256": "ab" * 32})
    if db.engine.dialect.name == "sqlite":
        assert "SEARCH media_items USING COVERING INDEX ix_media_items_sha256_id" in plan
        assert (
            "SEARCH request_media USING COVERING INDEX ix_request_media_media_id_request_id" in plan
        )
        assert "SCAN" not in plan.replace("SCALAR", "")
    else:
        assert "ix_media_items_sha256_id" in plan
        assert "ix_request_media_media_id_request_id" in plan


def test_the_perceptual_lookup_goes_through_the_band_index(app: Flask) -> None:
    with app.app_context():
        plan = _plan(_NEAR, {f"band{band}": band for band in range(8)})
    if db.engine.dialect.name == "sqlite":
        assert "perceptual_bands USING" in plan and "INDEX" in plan
        assert "SCAN perceptual_bands" not in plan
    else:
        assert "pk_perceptual_bands" in plan, plan
