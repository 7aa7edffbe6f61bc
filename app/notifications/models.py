"""What the notification layer stores: the outbox of events, and one delivery row per
(event, destination) that the worker works through.

The outbox is the source of truth. An event and its deliveries are written in the same
transaction as the change that caused them, so a crash after the commit loses nothing: the
worker finds the pending rows whenever it next runs. A delivery is claimed with a lease
(`lease_until`, `leased_by`); a worker that dies lets its lease run out and another one
picks the row up again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import UTCDateTime, utcnow
from app.notifications.sealed import SealedText


def _values(enum_cls: type[StrEnum]) -> str:
    return ", ".join(f"'{m.value}'" for m in enum_cls)


# The longest webhook address we store and accept (the column holds it whole).
MAX_URL = 2000


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    # The destination went away before we got to it (an endpoint disabled or deleted).
    CANCELLED = "cancelled"


class OutboxEvent(db.Model):
    """One domain event, exactly as webhook receivers get it (`data` is the PII-free body)."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_type_created", "type", "created_at"),
        # Pruning walks events by age.
        Index("ix_outbox_events_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id receivers dedupe on: the same on every retry and redelivery of this event.
    event_id: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    type: Mapped[str] = mapped_column(String(60))
    # SET NULL: an event already promised to a receiver is still delivered if its tournament goes.
    tournament_id: Mapped[int | None] = mapped_column(ForeignKey("tournaments.id", ondelete="SET NULL"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What the people told about it read and webhook receivers never get (a staff reason or note,
    # before -> after): free text may name people, and contract §6 keeps `data` to ids and names.
    notice: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True, order_by="Delivery.id"
    )


class WebhookEndpoint(db.Model):
    """A receiver an admin added in the staff portal (the one in `WEBHOOK_DELIVERY_URL` has no row).

    The secret is stored encrypted (`sealed`: Fernet under WEBHOOK_SECRET_KEYS) and read back in
    clear, because every delivery is signed with it; the portal shows it once, when it is created
    or rotated. After a rotation the previous secret keeps signing (a second signature) until
    `previous_secret_expires_at`, so receivers can switch over.

    Health (see `health`): `consecutive_failures` since the last success, `failing_since` when
    that run of failures began, `circuit_open_until` while the circuit is open (nothing is sent).
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(MAX_URL))
    description: Mapped[str] = mapped_column(String(200), default="")
    # Event types this endpoint wants; empty means all of them.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(SealedText())
    previous_secret: Mapped[str | None] = mapped_column(SealedText())
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Why it was switched off, e.g. "the receiver answered 410 Gone".
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    circuit_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class ReceiverHealth(db.Model):
    """The health of the receiver configured in WEBHOOK_DELIVERY_URL, which has no endpoint row:
    the same circuit as an endpoint's (see `health`), shared by every worker. Keyed by the
    SHA-256 of the URL, so configuring another URL starts afresh. It is never switched off (the
    setting is the operator's); `alerted_at` is when admins were told it has been failing, once
    per run of failures."""

    __tablename__ = "receiver_health"

    url_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(MAX_URL))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    circuit_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Delivery(db.Model):
    """One event owed to one destination: a webhook endpoint, or (channel email) one user."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(f"channel IN ({_values(Channel)})", name="channel"),
        CheckConstraint(f"status IN ({_values(DeliveryStatus)})", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # The worker's claim query: due pending rows, oldest first.
        Index("ix_deliveries_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    # NULL for a webhook: the endpoint configured in WEBHOOK_DELIVERY_URL.
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    leased_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    event: Mapped[OutboxEvent] = relationship(back_populates="deliveries")
    endpoint: Mapped[WebhookEndpoint | None] = relationship()
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan", passive_deletes=True, order_by="DeliveryAttempt.id"
    )


class DeliveryAttempt(db.Model):
    """One try at a delivery, kept for the delivery log whatever it came to."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(12))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    # The first few hundred characters of what the receiver answered.
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_log")
