"""A Core SELECT run straight on a DBAPI cursor, for the verify hot path.

SQLAlchemy's Core execution costs about 60 µs of Python per statement (compiled-cache look-up,
execution context, result objects) and a pool checkout and check-in about 25 µs more: more than
the SQL itself takes on an indexed read. Verify runs one statement per call, so this overhead was
a third of its time. ``PreparedRead`` keeps the statement written once, as Core, and compiles it
once per dialect; each call executes the compiled SQL on a connection this thread holds for
reads only, and applies the columns' own result processors, if any.

The held connection never has a transaction open between calls, so every read sees every commit
made before it, on every worker: PostgreSQL's is in autocommit mode (one statement, one
snapshot), and SQLite's Python driver opens no transaction for a SELECT. Only file databases and
PostgreSQL hold connections; anything else (an in-memory SQLite) reads through the pool.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CompoundSelect, Engine, Select, event


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # parameter order for qmark/format styles, else None
    defaults: dict[str, Any]
    row: Any  # namedtuple class named after the selected columns
    processors: tuple[Callable[[Any], Any] | None, ...]


class _ReadConnections:
    """The read connection each thread holds, per engine; closed when the engine is disposed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_engine: weakref.WeakKeyDictionary[Engine, dict[int, Any]] = (
            weakref.WeakKeyDictionary()
        )
        # A connection inherited across fork() belongs to the parent: the child must neither
        # use nor close it (closing would end the parent's session too), so it is only dropped.
        self._inherited: list[Any] = []
        os.register_at_fork(after_in_child=self._forget_after_fork)

    def get(self, engine: Engine) -> Any | None:
        held = self._by_engine.get(engine)
        return None if held is None else held.get(threading.get_ident())

    def open(self, engine: Engine) -> Any:
        fairy = engine.raw_connection()
        fairy.detach()  # ours now: the pool neither counts nor resets it
        connection: Any = fairy.dbapi_connection
        if engine.dialect.name == "postgresql":
            connection.autocommit = True
        with self._lock:
            held = self._by_engine.get(engine)
            if held is None:
                held = self._by_engine[engine] = {}
                event.listen(engine, "engine_disposed", self.close_all)
            held[threading.get_ident()] = connection
        return connection

    def discard(self, engine: Engine) -> None:
        with self._lock:
            connection = self._by_engine.get(engine, {}).pop(threading.get_ident(), None)
        if connection is not None:
            _close_quietly(connection)

    def close_all(self, engine: Engine) -> None:
        with self._lock:
            held = self._by_engine.pop(engine, {})
        for connection in held.values():
            _close_quietly(connection)

    def _forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        for held in self._by_engine.values():
            self._inherited.extend(held.values())
        self._by_engine = weakref.WeakKeyDictionary()


def _close_quietly(connection: Any) -> None:
    # A broken connection is being thrown away anyway.
    with contextlib.suppress(Exception):
        connection.close()


_connections = _ReadConnections()


def _holds_connections(engine: Engine) -> bool:
    if engine.dialect.name == "postgresql":
        return True
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"


class PreparedRead:
    """``statement`` executed with bound values; rows are named tuples (``row.column``).

    Bound values go to the driver as given, so only parameters whose types need no conversion
    (strings, integers) are accepted; compiling checks this.
    """

    def __init__(self, statement: Select[Any] | CompoundSelect[Any]) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compile(self, engine: Engine) -> _Compiled:
        dialect = engine.dialect
        compiled = self.statement.compile(dialect=dialect)
        for name, bind in compiled.binds.items():
            if bind.type._cached_bind_processor(dialect) is not None:
                raise TypeError(f"{name}: {bind.type!r} needs a bind processor")
        # Literal values in the statement (log_head.id = 1) are bound parameters too; take their
        # values from the compiled statement, with a placeholder for the ones the caller binds.
        required = [name for name, bind in compiled.binds.items() if bind.required]
        defaults = compiled.construct_params(dict.fromkeys(required))
        columns = [column.name for column in self.statement.selected_columns]
        processors = tuple(
            column.type._cached_result_processor(dialect, None)
            for column in self.statement.selected_columns
        )
        return _Compiled(
            sql=str(compiled),
            positional=tuple(compiled.positiontup or ()) if compiled.positional else None,
            defaults=dict(defaults),
            row=namedtuple("Row", columns),
            processors=processors,
        )

    def all(self, engine: Engine, **values: Any) -> list[Any]:
        compiled = self._by_dialect.get(engine.dialect.name)
        if compiled is None:
            compiled = self._by_dialect[engine.dialect.name] = self._compile(engine)
        params: Any = {**compiled.defaults, **values}
        if compiled.positional is not None:
            params = tuple(params[name] for name in compiled.positional)
        if _holds_connections(engine):
            fetched = self._on_held_connection(engine, compiled.sql, params)
        else:
            fetched = self._on_pooled_connection(engine, compiled.sql, params)
        make, processors = compiled.row._make, compiled.processors
        if any(processors):
            fetched = [
                [
                    value if process is None else process(value)
                    for process, value in zip(processors, raw, strict=True)
                ]
                for raw in fetched
            ]
        return [make(raw) for raw in fetched]

    @staticmethod
    def _on_held_connection(engine: Engine, sql: str, params: Any) -> list[Any]:
        connection = _connections.get(engine) or _connections.open(engine)
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
            finally:
                cursor.close()
        except engine.dialect.loaded_dbapi.Error:
            # Perhaps broken (a server restart): the next call opens a new one.
            _connections.discard(engine)
            raise

    @staticmethod
    def _on_pooled_connection(engine: Engine, sql: str, params: Any) -> list[Any]:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            fetched = list(cursor.fetchall())
            cursor.close()
            return fetched
        except engine.dialect.loaded_dbapi.Error:
            connection.invalidate()
            raise
        finally:
            connection.close()
