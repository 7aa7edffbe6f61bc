"""Pruning: what the outbox has finished with goes after NOTIFICATIONS_RETENTION_DAYS.

Rules:
- Pruned, once older than the retention period: events whose every delivery was delivered or
  cancelled (with those deliveries and their attempts); attempts of delivered or cancelled
  deliveries; in-app inbox items.
- Never pruned: a pending or failed delivery, its attempts, or its event. Undelivered rows stay
  until they are delivered, retried (`endpoints.retry_failed`), or their endpoint is deleted.
- Work goes in batches of PRUNE_BATCH_SIZE rows, each its own short transaction, so the tables
  are never locked for long and the web app and the worker keep going meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select

from app.extensions import db
from app.models import Notification
from app.notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, OutboxEvent

_FINISHED = (DeliveryStatus.DELIVERED.value, DeliveryStatus.CANCELLED.value)
_OPEN = (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)


@dataclass
class Pruned:
    events: int = 0
    deliveries: int = 0
    attempts: int = 0
    inbox_items: int = 0
    # False when max_batches stopped the work before everything old was gone.
    complete: bool = True


def cutoff(config: Any, now: datetime, days: float | None = None) -> datetime:
    return now - timedelta(days=float(config["NOTIFICATIONS_RETENTION_DAYS"] if days is None else days))


def prune(config: Any, now: datetime, *, days: float | None = None, max_batches: int | None = None) -> Pruned:
    """Delete what is older than the retention period, batch by batch (each batch commits)."""
    before = cutoff(config, now, days)
    batch = max(1, int(config["PRUNE_BATCH_SIZE"]))
    done = Pruned()
    batches = 0

    def budget_left() -> bool:
        return max_batches is None or batches < max_batches

    old_events = (
        select(OutboxEvent.id)
        .where(
            OutboxEvent.created_at < before,
            ~exists().where(Delivery.outbox_event_id == OutboxEvent.id, Delivery.status.in_(_OPEN)),
        )
        .order_by(OutboxEvent.id)
        .limit(batch)
    )
    while budget_left():
        ids = list(db.session.scalars(old_events))
        if not ids:
            break
        delivery_ids = select(Delivery.id).where(Delivery.outbox_event_id.in_(ids))
        done.attempts += db.session.execute(
            delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        ).rowcount
        done.deliveries += db.session.execute(delete(Delivery).where(Delivery.outbox_event_id.in_(ids))).rowcount
        done.events += db.session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids))).rowcount
        db.session.commit()
        batches += 1

    old_attempts = (
        select(DeliveryAttempt.id)
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .where(DeliveryAttempt.started_at < before, Delivery.status.in_(_FINISHED))
        .order_by(DeliveryAttempt.id)
        .limit(batch)
    )
    while budget_left():
        ids = list(db.session.scalars(old_attempts))
        if not ids:
            break
        done.attempts += db.session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.id.in_(ids))).rowcount
        db.session.commit()
        batches += 1

    old_items = select(Notification.id).where(Notification.created_at < before).order_by(Notification.id).limit(batch)
    while budget_left():
        ids = list(db.session.scalars(old_items))
        if not ids:
            break
        done.inbox_items += db.session.execute(delete(Notification).where(Notification.id.in_(ids))).rowcount
        db.session.commit()
        batches += 1

    done.complete = budget_left()
    db.session.rollback()
    return done
