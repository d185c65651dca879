"""How the service's database connections are set up, on every new connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite's settings, per connection (PostgreSQL needs none)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        # SQLite enforces foreign keys only when asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a consent acknowledged to a client survives a power cut, not only a crash.
        cursor.execute("PRAGMA synchronous=FULL")
        # Deleted content is overwritten with zeros: an erased patient's wrapped key must not
        # linger in free pages of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        # Verify reads a few pages per call: keep them in memory (64 MiB of cache, and up to
        # 1 GiB mapped, of which only the pages read count) rather than in the default 2 MiB,
        # so that latency does not grow with the data set.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=1073741824")
        cursor.close()
