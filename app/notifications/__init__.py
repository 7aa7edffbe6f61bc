"""Notifications: the outbox of domain events, webhooks, email and in-app messages.

Durability comes from the outbox (`outbox.emit`, written in the transaction of the change);
the blinker signals of `app.signals` remain the in-process hook, sent after the commit. The
receivers connected here only log, so a missing or failing receiver can never lose an event.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from app import signals
from app.config import ConfigError


def init_app(app: Flask) -> None:
    # The models must be known to SQLAlchemy (and Alembic) whenever the app exists.
    from app.notifications import (
        models,  # noqa: F401
        sealed,
    )

    # A malformed key is a refusal to start, not a 500 the first time a secret is stored.
    try:
        sealed.parse_keys(app.config.get("WEBHOOK_SECRET_KEYS") or "", str(app.config.get("SECRET_KEY") or ""))
    except sealed.BadKeys as exc:
        raise ConfigError(str(exc)) from None

    for signal, receiver in _RECEIVERS.items():
        # Connecting the same receiver again (one app per test) is a no-op in blinker.
        signal.connect(receiver)


def _logger_for(name: str):
    def receiver(sender: Any, **extra: Any) -> None:
        current_app.logger.debug("signal %s from %r: %s", name, sender, extra)

    return receiver


_SIGNALS = (
    signals.payment_verified,
    signals.payment_refunded,
    signals.match_started,
    signals.match_completed,
    signals.match_disputed,
    signals.tournament_completed,
    signals.placement_overridden,
    signals.leaderboard_updated,
)
# Made once per process and kept here, so blinker's weak references stay alive.
_RECEIVERS = {signal: _logger_for(signal.name) for signal in _SIGNALS}
