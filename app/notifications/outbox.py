"""The transactional outbox: the rule is that whatever a change owes the outside world is
written in the same transaction as the change.

Services call `emit(...)` after making a real change and before their commit. It adds the
event, one webhook delivery per interested endpoint (when NOTIFICATIONS_WEBHOOK_ENABLED), and
hands the event to `recipients.fan_out`, which adds in-app notifications and email deliveries.
Nothing here commits: the caller's commit makes the change and everything it owes durable
together, and its rollback drops them together. The worker sends the deliveries later.
"""

from __future__ import annotations

import importlib
import uuid
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Entry, Match, Participant, Payment, Tournament, utcnow
from app.notifications.models import Channel, Delivery, DeliveryStatus, OutboxEvent, WebhookEndpoint

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
)
# Sent only by an admin's "send test event", to one endpoint; never emitted by a change.
TEST_EVENT_TYPE = "webhook.test"


def emit(type: str, *, tournament_id: int | None, data: dict[str, Any], subject: Any = None) -> OutboxEvent:
    """Record event `type` with its PII-free `data` in the current transaction (no commit)."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    now = utcnow()
    event = OutboxEvent(
        event_id=str(uuid.uuid4()),
        type=type,
        tournament_id=tournament_id,
        data=data,
        occurred_at=now.replace(microsecond=0),
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    if current_app.config.get("NOTIFICATIONS_WEBHOOK_ENABLED"):
        add_webhook_deliveries(event, now)
    # Imported here: the recipients module belongs to the in-app/email half and must not be
    # able to break the import of every service while it changes.
    try:
        recipients = importlib.import_module("app.notifications.recipients")
    except ModuleNotFoundError as exc:
        if exc.name != "app.notifications.recipients":
            raise
        current_app.logger.warning("no app.notifications.recipients: %s has no in-app or email recipients", type)
    else:
        recipients.fan_out(event, subject)
    return event


def add_webhook_deliveries(event: OutboxEvent, now: datetime | None = None) -> list[Delivery]:
    """One pending delivery per destination that wants this event type."""
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


# ---------------------------------------------------------------------------- event data
# Ids, states and public names only: these dicts go to third-party receivers as they are.
# Never put a user's email or name, a phone number, or a payment's amount, method or
# reference here (tests/test_webhooks_payload.py checks every event type).


def payment_data(payment: Payment) -> dict[str, Any]:
    registration = payment.registration
    participant = registration.participant
    tournament = participant.tournament
    return {
        "payment_id": payment.id,
        "registration_id": registration.id,
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "participant_id": participant.key,
        "participant_name": participant.name,
        "status": payment.status,
    }


def entry_data(entry: Entry, **extra: Any) -> dict[str, Any]:
    """A team's registration: ids, states, the team's public name and its registration code.
    Never an amount, a method, a transaction id or a person (the payment details of
    `payment.submitted`/`payment.rejected` stay in the portal); `extra` adds e.g. `reason`."""
    tournament = entry.tournament
    participant = entry.participant
    data: dict[str, Any] = {
        "registration_id": entry.id,
        "registration_code": entry.code,
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "team_name": entry.team_name,
        "participant_id": participant.key if participant is not None else None,
        "status": entry.status,
        "payment_status": entry.payment_status,
    }
    data.update(extra)
    return data


def match_data(tournament: Tournament, match: Match) -> dict[str, Any]:
    data: dict[str, Any] = {
        "match_id": match.id,
        "match_key": match.key,
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "state": match.state,
    }
    if match.series is not None:
        data["series_key"] = match.series.key
    if match.stage:
        data["stage"] = match.stage
    return data


def tournament_data(tournament: Tournament) -> dict[str, Any]:
    return {
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "tournament_name": tournament.name,
        "status": tournament.status,
    }


def placement_data(tournament: Tournament, participant: Participant, old_rank: int, new_rank: int) -> dict[str, Any]:
    return {
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "participant_id": participant.key,
        "participant_name": participant.name,
        "old_rank": old_rank,
        "new_rank": new_rank,
    }


def leaderboard_data(tournament: Tournament) -> dict[str, Any]:
    return {
        "tournament_id": tournament.id,
        "tournament_slug": tournament.slug,
        "results_version": tournament.results_version,
    }
