"""The transactional outbox: the rule is that whatever a change owes the outside world is
written in the same transaction as the change.

Services never call this module: they send the signal of their change (`app.signals`) before
their commit, and `listeners` calls `emit(...)`. It adds the event, one webhook delivery per
interested endpoint (when NOTIFICATIONS_WEBHOOK_ENABLED), and hands the event to
`recipients.fan_out`, which adds in-app notifications and email deliveries.
Nothing here commits: the caller's commit makes the change and everything it owes durable
together, and its rollback drops them together. The worker sends the deliveries later.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import utcnow
from app.notifications import recipients
from app.notifications.models import Channel, Delivery, DeliveryStatus, OutboxEvent, WebhookEndpoint
from app.notifications.payloads import (  # noqa: F401  (the event data builders, used with emit)
    announcement_data,
    entry_data,
    leaderboard_data,
    match_data,
    payment_data,
    placement_data,
    tournament_data,
)

EVENT_TYPES = (
    "payment.verified",
    "payment.refunded",
    "match.started",
    "match.completed",
    "match.disputed",
    "tournament.completed",
    "placement.overridden",
    "leaderboard.updated",
    # Registration and entry fees (contract §7).
    "payment.submitted",
    "payment.rejected",
    "registration.confirmed",
    "registration.cancelled",
    "registration.offered",
    "tournament.announcement",
    "match.corrected",
)
# Events for people only: written to the outbox (inbox, email) but never sent to webhook
# receivers, whose list of types is fixed (contract §6).
PEOPLE_ONLY_TYPES = frozenset({"registration.offered", "tournament.announcement", "match.corrected"})
# Sent only by an admin's "send test event", to one endpoint; never emitted by a change.
TEST_EVENT_TYPE = "webhook.test"


def emit(
    type: str,
    *,
    tournament_id: int | None,
    data: dict[str, Any],
    subject: Any = None,
    notice: dict[str, Any] | None = None,
) -> OutboxEvent:
    """Record event `type` with its PII-free `data` in the current transaction (no commit).
    `notice`: what the people told read besides `data` (a reason, before -> after); never sent
    to a webhook receiver."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    now = utcnow()
    event = OutboxEvent(
        event_id=str(uuid.uuid4()),
        type=type,
        tournament_id=tournament_id,
        data=data,
        notice=notice or None,
        occurred_at=now.replace(microsecond=0),
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    if current_app.config.get("NOTIFICATIONS_WEBHOOK_ENABLED"):
        add_webhook_deliveries(event, now)
    recipients.fan_out(event, subject)
    return event


def add_webhook_deliveries(event: OutboxEvent, now: datetime | None = None) -> list[Delivery]:
    """One pending delivery per destination that wants this event type."""
    if event.type in PEOPLE_ONLY_TYPES:
        return []
    now = now or utcnow()
    deliveries = []
    if current_app.config.get("WEBHOOK_DELIVERY_URL"):
        deliveries.append(_delivery(event, None, now))
    endpoints = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True)).order_by(WebhookEndpoint.id)
    )
    deliveries.extend(_delivery(event, endpoint.id, now) for endpoint in endpoints if endpoint.wants(event.type))
    db.session.add_all(deliveries)
    return deliveries


def _delivery(event: OutboxEvent, endpoint_id: int | None, now: datetime) -> Delivery:
    return Delivery(
        outbox_event_id=event.id,
        channel=Channel.WEBHOOK.value,
        endpoint_id=endpoint_id,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
