"""Webhook endpoints that admins manage, and their delivery log.

Rules:
- An endpoint has an http(s) URL (no user/password in it; with WEBHOOK_ALLOW_PRIVATE_NETWORKS
  off, no literal private address or `localhost`, though the connect-time guard in `net` is
  what really enforces that), an optional description, and the event types it wants (none
  ticked: all of them).
- Its secret is generated here and returned once, on creation and on rotation; nothing shows
  it again. A rotation keeps the previous secret signing for 24 hours.
- Disabling stops new deliveries and cancels the pending ones at once (`health.cancel_pending`;
  the audit counts them); enabling again clears the reason it was disabled (e.g. a 410).
- "Redeliver" sends an event again with the same event id (receivers dedupe on it); "send test
  event" sends a `webhook.test` event to that one endpoint. Both go through the worker, like
  every other delivery. Every change is in the audit log.
- "Retry failed since T" puts every delivery to the endpoint that FAILED (ran out of retries or
  was given up) or was CANCELLED (its endpoint was disabled) and was created at or after T back
  in the queue, due at once, with a fresh retry budget: after an outage, everything that was
  missed goes out again, in one step. It needs the endpoint enabled (for WEBHOOK_DELIVERY_URL:
  set), and clears its circuit (the admin says it works again).
- Deleting an endpoint removes it with its deliveries and their log (pending ones are never
  sent); the audit log keeps who deleted which URL. The secret goes with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import selectinload

from app import auditing as audit
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import is_db_id, utcnow
from app.notifications import health, webhooks
from app.notifications.clock import db_now
from app.notifications.models import Channel, Delivery, DeliveryStatus, OutboxEvent, ReceiverHealth, WebhookEndpoint
from app.notifications.outbox import EVENT_TYPES, TEST_EVENT_TYPE
from app.text import storable
from app.timestamps import iso_z

MAX_DESCRIPTION = 200
LOG_PAGE = 50


@dataclass
class EndpointSummary:
    endpoint: WebhookEndpoint
    pending: int
    delivered: int
    failed: int


def _checked(url: Any, description: Any, event_types: Any) -> tuple[str, str, list[str]]:
    url = (url or "").strip() if isinstance(url, str) else ""
    description = (description or "").strip() if isinstance(description, str) else ""
    if not storable(url) or not storable(description):
        raise ValidationError("url: contains a NUL character or an unpaired surrogate")
    problem = webhooks.check_url(url)
    if problem is not None:
        raise ValidationError("url: " + problem.removeprefix("URL: "))
    if len(description) > MAX_DESCRIPTION:
        raise ValidationError(f"description: at most {MAX_DESCRIPTION} characters")
    if not isinstance(event_types, list | tuple) or any(t not in EVENT_TYPES for t in event_types):
        raise ValidationError(f"event_types: choose from {', '.join(EVENT_TYPES)}")
    ordered = [t for t in EVENT_TYPES if t in set(event_types)]
    return url, description, ordered


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id) if is_db_id(endpoint_id) else None
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


def list_endpoints() -> list[EndpointSummary]:
    counts: dict[tuple[int | None, str], int] = {
        (endpoint_id, status): n
        for endpoint_id, status, n in db.session.execute(
            select(Delivery.endpoint_id, Delivery.status, func.count(Delivery.id))
            .where(Delivery.channel == Channel.WEBHOOK.value, Delivery.endpoint_id.is_not(None))
            .group_by(Delivery.endpoint_id, Delivery.status)
        )
    }
    return [
        EndpointSummary(
            e,
            counts.get((e.id, DeliveryStatus.PENDING.value), 0),
            counts.get((e.id, DeliveryStatus.DELIVERED.value), 0),
            counts.get((e.id, DeliveryStatus.FAILED.value), 0),
        )
        for e in db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
    ]


def create_endpoint(url: Any, description: Any, event_types: Any, actor_id: int | None) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; returns it with its secret, which is shown this once."""
    url, description, event_types = _checked(url, description, event_types)
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint(
        url=url, description=description, event_types=event_types, secret=secret, enabled=True, created_by_id=actor_id
    )
    db.session.add(endpoint)
    db.session.flush()
    _audit("webhook.endpoint_created", endpoint, actor_id, after=_snapshot(endpoint))
    db.session.commit()
    return endpoint, secret


def update_endpoint(endpoint_id: int, url: Any, description: Any, event_types: Any, actor_id: int | None):
    endpoint = get_endpoint(endpoint_id)
    url, description, event_types = _checked(url, description, event_types)
    before = _snapshot(endpoint)
    endpoint.url, endpoint.description, endpoint.event_types = url, description, event_types
    after = _snapshot(endpoint)
    if after != before:
        _audit("webhook.endpoint_updated", endpoint, actor_id, before=before, after=after)
        endpoint.updated_at = utcnow()
    db.session.commit()
    return endpoint


def set_enabled(endpoint_id: int, enabled: bool, actor_id: int | None) -> WebhookEndpoint:
    endpoint = get_endpoint(endpoint_id)
    if endpoint.enabled == enabled:
        return endpoint  # nothing changes, nothing is recorded
    before = {"enabled": endpoint.enabled, "disabled_reason": endpoint.disabled_reason}
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else "disabled by an admin"
    after: dict[str, Any] = {"enabled": enabled, "disabled_reason": endpoint.disabled_reason}
    if enabled:  # a fresh start: the old failures are not held against it
        endpoint.consecutive_failures, endpoint.failing_since, endpoint.circuit_open_until = 0, None, None
    else:
        db.session.flush()
        after["cancelled_deliveries"] = health.cancel_pending(endpoint.id, "the endpoint was disabled by an admin")
    _audit(
        "webhook.endpoint_enabled" if enabled else "webhook.endpoint_disabled",
        endpoint,
        actor_id,
        before=before,
        after=after,
    )
    db.session.commit()
    return endpoint


def receiver_health() -> ReceiverHealth | None:
    """The circuit of the receiver configured in WEBHOOK_DELIVERY_URL (None: never failed)."""
    return health.receiver_health(current_app.config)


def waiting_count(endpoint_id: int) -> int:
    """Deliveries to this endpoint not sent yet (pending or waiting for a retry)."""
    return (
        db.session.scalar(
            select(func.count(Delivery.id)).where(
                Delivery.endpoint_id == endpoint_id, Delivery.status == DeliveryStatus.PENDING.value
            )
        )
        or 0
    )


def delete_endpoint(endpoint_id: int, actor_id: int | None) -> WebhookEndpoint:
    """Remove an endpoint for good, with its delivery log: deliveries still waiting for it are
    dropped with it (nothing more is sent there). The audit keeps what it was (never its secret)."""
    endpoint = get_endpoint(endpoint_id)
    counts = {
        status: n
        for status, n in db.session.execute(
            select(Delivery.status, func.count(Delivery.id))
            .where(Delivery.endpoint_id == endpoint.id)
            .group_by(Delivery.status)
        )
    }
    _audit(
        "webhook.endpoint_deleted",
        endpoint,
        actor_id,
        before={**_snapshot(endpoint), "enabled": endpoint.enabled, "deliveries": counts},
    )
    db.session.execute(delete(Delivery).where(Delivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()
    return endpoint


def rotate(endpoint_id: int, actor_id: int | None) -> tuple[WebhookEndpoint, str]:
    endpoint = get_endpoint(endpoint_id)
    secret = webhooks.rotate_secret(endpoint)
    _audit(
        "webhook.secret_rotated",
        endpoint,
        actor_id,
        after={"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
    )
    db.session.commit()
    return endpoint, secret


def parse_since(value: Any) -> datetime:
    """An ISO 8601 time (`2026-11-28T09:00:00Z`, a date alone means its midnight UTC)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationError("since: give a date and time such as 2026-11-28T09:00:00Z")
    try:
        when = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"since: {text[:40]!r} is not a date and time such as 2026-11-28T09:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def retry_failed(endpoint_id: int | None, since: Any, actor_id: int | None) -> int:
    """Queue again every failed delivery to the endpoint created at or after `since` (see the
    module's rules); returns how many. Recorded in the audit log when there were any."""
    when = since if isinstance(since, datetime) else parse_since(since)
    if endpoint_id is not None:
        endpoint = get_endpoint(endpoint_id)
        if not endpoint.enabled:
            raise Conflict("the endpoint is disabled; enable it before retrying")
    elif not current_app.config.get("WEBHOOK_DELIVERY_URL"):
        raise Conflict("WEBHOOK_DELIVERY_URL is not set; there is nowhere to retry to")
    where = Delivery.endpoint_id.is_(None) if endpoint_id is None else Delivery.endpoint_id == endpoint_id
    now = db_now()
    count = db.session.execute(
        update(Delivery)
        .where(
            where,
            Delivery.channel == Channel.WEBHOOK.value,
            Delivery.status.in_((DeliveryStatus.FAILED.value, DeliveryStatus.CANCELLED.value)),
            Delivery.created_at >= when,
        )
        .values(
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            leased_by=None,
        ),
        execution_options={"synchronize_session": False},
    ).rowcount
    if endpoint_id is not None:
        endpoint.consecutive_failures, endpoint.failing_since, endpoint.circuit_open_until = 0, None, None
    else:
        db.session.execute(
            update(ReceiverHealth)
            .where(ReceiverHealth.url_hash == health.receiver_key(current_app.config["WEBHOOK_DELIVERY_URL"]))
            .values(consecutive_failures=0, failing_since=None, circuit_open_until=None, alerted_at=None),
            execution_options={"synchronize_session": False},
        )
    if count:
        audit.record(
            "webhook.failed_retried",
            target_type="webhook_endpoint",
            target_id=endpoint_id or 0,  # 0: the endpoint of WEBHOOK_DELIVERY_URL
            actor_id=actor_id,
            after={"since": iso_z(when), "deliveries": count, "endpoint_id": endpoint_id},
        )
    db.session.commit()
    return count


def deliveries(endpoint_id: int | None, limit: int = LOG_PAGE) -> list[Delivery]:
    """The newest deliveries to an endpoint (None: WEBHOOK_DELIVERY_URL), with every attempt."""
    where = Delivery.endpoint_id.is_(None) if endpoint_id is None else Delivery.endpoint_id == endpoint_id
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.channel == Channel.WEBHOOK.value, where)
            .options(selectinload(Delivery.attempt_log), selectinload(Delivery.event))
            .order_by(Delivery.id.desc())
            .limit(limit)
        )
    )


def redeliver(endpoint_id: int | None, delivery_id: int, actor_id: int | None) -> Delivery:
    """Queue the event of `delivery_id` for the same endpoint again, same event id."""
    original = db.session.get(Delivery, delivery_id) if is_db_id(delivery_id) else None
    if original is None or original.channel != Channel.WEBHOOK.value or original.endpoint_id != endpoint_id:
        raise NotFound(f"no webhook delivery {delivery_id} for this endpoint")
    if endpoint_id is not None and not get_endpoint(endpoint_id).enabled:
        raise Conflict("the endpoint is disabled; enable it before redelivering")
    if endpoint_id is None and not current_app.config.get("WEBHOOK_DELIVERY_URL"):
        raise Conflict("WEBHOOK_DELIVERY_URL is not set; there is nowhere to redeliver to")
    fresh = _queue(original.event, endpoint_id)
    _audit_delivery("webhook.redelivered", fresh, endpoint_id, actor_id, {"event_id": original.event.event_id})
    db.session.commit()
    return fresh


def send_test_event(endpoint_id: int | None, actor_id: int | None) -> Delivery:
    if endpoint_id is not None and not get_endpoint(endpoint_id).enabled:
        raise Conflict("the endpoint is disabled; enable it before sending a test event")
    if endpoint_id is None and not current_app.config.get("WEBHOOK_DELIVERY_URL"):
        raise Conflict("WEBHOOK_DELIVERY_URL is not set; there is nowhere to send a test event")
    now = utcnow()
    event = OutboxEvent(
        type=TEST_EVENT_TYPE,
        tournament_id=None,
        data={"message": "A test event from DeltaCrown Leaderboards.", "endpoint_id": endpoint_id},
        occurred_at=now.replace(microsecond=0),
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    delivery = _queue(event, endpoint_id)
    _audit_delivery("webhook.test_sent", delivery, endpoint_id, actor_id, {"event_id": event.event_id})
    db.session.commit()
    return delivery


def _queue(event: OutboxEvent, endpoint_id: int | None) -> Delivery:
    now = utcnow()
    delivery = Delivery(
        outbox_event_id=event.id,
        channel=Channel.WEBHOOK.value,
        endpoint_id=endpoint_id,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(delivery)
    db.session.flush()
    return delivery


def _snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    # Never the secret: the audit log is readable by every staff member.
    return {"url": endpoint.url, "description": endpoint.description, "event_types": list(endpoint.event_types)}


def _audit(action: str, endpoint: WebhookEndpoint, actor_id: int | None, **changes: Any) -> None:
    audit.record(action, target_type="webhook_endpoint", target_id=endpoint.id, actor_id=actor_id, **changes)


def _audit_delivery(
    action: str, delivery: Delivery, endpoint_id: int | None, actor_id: int | None, after: dict[str, Any]
) -> None:
    audit.record(
        action,
        target_type="webhook_delivery",
        target_id=delivery.id,
        actor_id=actor_id,
        after={**after, "endpoint_id": endpoint_id},
    )
