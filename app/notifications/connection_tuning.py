"""Connection tuning for the worker: its bookkeeping commits made cheap.

Rule: the worker's own connections trade a little durability for speed where losing it can only
ever mean sending a delivery again (receivers dedupe on the event id); the outbox rows
themselves are written by the web app with full durability. See `tune_connections`.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from flask import current_app
from sqlalchemy import event

from app.extensions import db


def tune_connections() -> bool:
    """Make the worker's bookkeeping commits cheap; they were its main cost (one per attempt).

    SQLite: the database file switches to write-ahead logging (kept by the file), so the web
    app's reads and the worker's writes stop blocking each other, and the worker's connections
    use synchronous=NORMAL: a commit no longer waits for fsyncs, yet survives a crash of any
    process. PostgreSQL: the worker's sessions use synchronous_commit=off, so a commit does not
    wait for the WAL flush; only a crash of the database server itself can lose the last
    fraction of a second of claims and outcomes, and the worst that does is send those
    deliveries again, which receivers dedupe on the event id. The outbox rows themselves are
    written by the web app, with full durability.
    """
    engine = db.engine
    if engine.dialect.name == "sqlite":
        if engine.url.database in (None, "", ":memory:"):
            return True
        listener = _sqlite_synchronous_normal
    elif engine.dialect.name == "postgresql":
        listener = _postgres_async_commit
    else:
        return True
    if not event.contains(engine, "connect", listener):
        event.listen(engine, "connect", listener)
        engine.dispose()  # connections opened before the listener get it too
    if listener is _sqlite_synchronous_normal:
        return switch_sqlite_to_wal(engine.url.database)
    return True


def switch_sqlite_to_wal(path: str) -> bool:
    """Try once, briefly: the switch needs the file to itself, and waiting for it while another
    process holds a write lock could stall both. Returns whether the file is in WAL mode."""
    try:
        with closing(sqlite3.connect(path, timeout=1)) as connection:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return True
            return connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    except sqlite3.OperationalError as exc:
        current_app.logger.info("SQLite file busy, WAL mode later: %s", exc)
        return False


def _postgres_async_commit(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    dbapi_connection.commit()


def _sqlite_synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
