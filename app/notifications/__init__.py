"""Notifications: the outbox of domain events, webhooks, email and in-app messages.

Services announce changes as the blinker signals of `app.signals`, inside the transaction of the
change; `listeners` (connected here) write each event into the outbox in that same session
(`outbox.emit`), so an event commits or rolls back with its change. The worker sends the
deliveries later.
"""

from __future__ import annotations

from flask import Flask

from app.config import ConfigError
from app.notifications import (
    listeners,
    models,  # noqa: F401  (SQLAlchemy and Alembic must know the tables)
    sealed,
)


def init_app(app: Flask) -> None:
    # A malformed key is a refusal to start, not a 500 the first time a secret is stored.
    try:
        sealed.parse_keys(app.config.get("WEBHOOK_SECRET_KEYS") or "", str(app.config.get("SECRET_KEY") or ""))
    except sealed.BadKeys as exc:
        raise ConfigError(str(exc)) from None
    listeners.connect()
