"""Rebuilding a table on SQLite, which cannot alter a CHECK constraint: the table is renamed
aside, made again with the new constraint, its rows copied, the old one dropped
(sqlite.org/lang_altertable.html#otheralter).

Migrations 0007, 0019 and 0023 run this code: it is as frozen as they are. A change here
changes what those migrations execute on databases still to be upgraded; a migration that
wants another procedure writes its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def rebuild_statements(
    table: str,
    *,
    revision: str,
    create: str,
    columns: str,
    indexes: Mapping[str, str] | None = None,
) -> list[str]:
    """The SQL that replaces ``table`` by the one ``create`` makes, every row of ``columns``
    copied. ``indexes`` (name: indexed columns) are dropped with the old table's name and made
    again on the new table; the old table is kept aside as ``<table>_before_<revision>``."""
    aside = f"{table}_before_{revision}"
    indexes = indexes or {}
    return [
        f"ALTER TABLE {table} RENAME TO {aside}",
        # The old table's indexes keep their names: dropped with it, made again below.
        *(f"DROP INDEX {name}" for name in indexes),
        create,
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {aside}",  # noqa: S608 (names only)
        f"DROP TABLE {aside}",
        *(f"CREATE INDEX {name} ON {table} {indexed}" for name, indexed in indexes.items()),
    ]


def run_with_foreign_keys_off(bind: Any, *, revision: str, statements: Sequence[str]) -> None:
    """Run ``statements`` with SQLite's foreign keys off, in a transaction of their own, and
    commit only if every reference still holds.

    For a table that others reference: with foreign keys on, dropping it fails and renaming it
    would repoint their references. SQLite turns foreign keys off only outside a transaction,
    so this runs on the driver's connection (Alembic runs SQLite migrations without a
    transaction around them). Raises RuntimeError when called inside a transaction, or when
    PRAGMA foreign_key_check finds a broken reference (all rolled back).
    """
    raw = bind.connection.dbapi_connection
    if raw.in_transaction:
        raise RuntimeError(f"{revision} must start outside a transaction on SQLite.")
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        raw.execute("BEGIN")
        try:
            raw.execute("PRAGMA legacy_alter_table = ON")
            for statement in statements:
                raw.execute(statement)
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"{revision} would break references: {broken[:3]}")
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        finally:
            raw.execute("PRAGMA legacy_alter_table = OFF")
    finally:
        raw.execute("PRAGMA foreign_keys = ON")
