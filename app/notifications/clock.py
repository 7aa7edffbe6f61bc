"""The database's clock: the one time every worker on every host agrees on.

Leases and due times are compared with this, never with the host's clock, so a host whose clock
runs a minute fast cannot take over a lease that another worker still holds (and send twice),
and one running slow does not sit on due deliveries. Tests replace `now` with their own clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from app.extensions import db

# clock_timestamp(), not now(): now() is frozen at the start of the transaction.
_QUERIES = {
    "postgresql": "SELECT clock_timestamp()",
    "sqlite": "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')",
}


def db_now() -> datetime:
    """The database server's current time (UTC, aware)."""
    query = _QUERIES.get(db.engine.dialect.name, "SELECT CURRENT_TIMESTAMP")
    value = db.session.execute(text(query)).scalar_one()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
