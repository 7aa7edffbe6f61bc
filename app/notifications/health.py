"""Endpoint health: a circuit per admin endpoint, and switching off endpoints that stay dead.

Rules:
- Every attempt's outcome moves its endpoint's health, in the transaction that records it.
  A success closes the circuit: the failure count and `failing_since` are cleared.
- A failure counts one more consecutive failure (`failing_since` marks the first of the run).
  From WEBHOOK_CIRCUIT_THRESHOLD consecutive failures on, the circuit is OPEN: nothing is sent
  to the endpoint until `circuit_open_until`, which is WEBHOOK_CIRCUIT_BASE_SECONDS after the
  failure, doubled for every further failure, at most WEBHOOK_CIRCUIT_MAX_SECONDS. Deliveries
  waiting behind an open circuit keep their retries: a dead endpoint no longer burns every
  retry of every event within half a minute.
- When the open period is over the circuit is HALF-OPEN: the worker sends exactly one probe
  (the claim caps the endpoint at one in flight while the failure count is at the threshold
  or above); its success closes the circuit, its failure opens it again for longer.
- An endpoint that has failed without a single success for WEBHOOK_DISABLE_AFTER_SECONDS
  (default 3 days) is disabled, with the reason, and every active admin gets an inbox item and
  (when NOTIFICATIONS_EMAIL_ENABLED) an email. Its pending deliveries are then cancelled as
  usual. 410 Gone disables at once (the receiver said so). Enabling it again starts afresh.
- The endpoint of WEBHOOK_DELIVERY_URL has no row and no circuit: it is the operator's own.
Times come from the caller, who reads the database's clock (`clock.db_now`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Notification, User
from app.notifications import wording
from app.notifications.models import Channel, Delivery, DeliveryStatus, OutboxEvent, WebhookEndpoint
from app.notifications.outcome import Outcome, OutcomeKind

DISABLED_ALERT = "webhook.endpoint_disabled"
_ENDPOINTS = WebhookEndpoint.__table__


def circuit_delay(config: Any, failures: int) -> float | None:
    """Seconds the circuit stays open after `failures` consecutive failures (None: closed)."""
    threshold = int(config["WEBHOOK_CIRCUIT_THRESHOLD"])
    if threshold <= 0 or failures < threshold:
        return None
    base = float(config["WEBHOOK_CIRCUIT_BASE_SECONDS"])
    return min(float(config["WEBHOOK_CIRCUIT_MAX_SECONDS"]), base * 2 ** min(failures - threshold, 30))


def limits(config: Any, now: datetime) -> dict[int | None, int]:
    """How many deliveries an endpoint whose circuit is not closed may have in flight: 0 while
    the circuit is open, 1 (the probe) while it is half-open. Endpoints not listed: no limit
    from their health."""
    threshold = int(config["WEBHOOK_CIRCUIT_THRESHOLD"])
    caps: dict[int | None, int] = {}
    for endpoint_id, failures, open_until in db.session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.consecutive_failures, WebhookEndpoint.circuit_open_until).where(
            WebhookEndpoint.enabled.is_(True),
            (WebhookEndpoint.consecutive_failures > 0) | WebhookEndpoint.circuit_open_until.is_not(None),
        )
    ):
        if open_until is not None and open_until > now:
            caps[endpoint_id] = 0
        elif threshold > 0 and (failures or 0) >= threshold:
            caps[endpoint_id] = 1
    return caps


def record_many(config: Any, endpoint_id: int | None, outcomes: list[Outcome], now: datetime) -> None:
    """Apply a batch of outcomes, in the order they came in (no commit). Only what follows the
    last success matters, so the successes cost one statement."""
    if endpoint_id is None:
        return
    last_success = max((i for i, outcome in enumerate(outcomes) if outcome.kind == OutcomeKind.DELIVERED), default=None)
    if last_success is not None:
        record(config, endpoint_id, outcomes[last_success], now)
    for outcome in outcomes[(last_success or -1) + 1 :]:
        record(config, endpoint_id, outcome, now)


def record(config: Any, endpoint_id: int, outcome: Outcome, now: datetime) -> None:
    """Apply one attempt's outcome to the endpoint's health (no commit)."""
    if outcome.kind == OutcomeKind.DELIVERED:
        db.session.execute(
            _ENDPOINTS.update()
            .where(
                _ENDPOINTS.c.id == endpoint_id,
                (_ENDPOINTS.c.consecutive_failures > 0)
                | _ENDPOINTS.c.failing_since.is_not(None)
                | _ENDPOINTS.c.circuit_open_until.is_not(None),
            )
            .values(consecutive_failures=0, failing_since=None, circuit_open_until=None)
        )
        return
    if outcome.status_code == 410:
        disable(endpoint_id, f"the receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC", now, alert=False)
        return
    # One statement, so two threads' failures on the same endpoint both count.
    db.session.execute(
        _ENDPOINTS.update()
        .where(_ENDPOINTS.c.id == endpoint_id)
        .values(
            consecutive_failures=_ENDPOINTS.c.consecutive_failures + 1,
            failing_since=func.coalesce(_ENDPOINTS.c.failing_since, now),
        )
    )
    row = db.session.execute(
        select(_ENDPOINTS.c.consecutive_failures, _ENDPOINTS.c.failing_since, _ENDPOINTS.c.enabled).where(
            _ENDPOINTS.c.id == endpoint_id
        )
    ).one_or_none()
    if row is None:
        return
    failures, failing_since, enabled = row
    delay = circuit_delay(config, failures)
    if delay is not None:
        db.session.execute(
            _ENDPOINTS.update()
            .where(_ENDPOINTS.c.id == endpoint_id)
            .values(circuit_open_until=now + timedelta(seconds=delay))
        )
    if enabled and failing_since is not None and _failed_too_long(config, failing_since, now):
        disable(endpoint_id, _long_failure_reason(failing_since), now, alert=True)


def _failed_too_long(config: Any, failing_since: datetime, now: datetime) -> bool:
    return now - _aware(failing_since) >= timedelta(seconds=float(config["WEBHOOK_DISABLE_AFTER_SECONDS"]))


def _aware(value: datetime) -> datetime:
    # Read through the bare table, SQLite hands back naive datetimes (UTC by our convention).
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _long_failure_reason(failing_since: datetime) -> str:
    return f"failing without a success since {_aware(failing_since):%Y-%m-%d %H:%M} UTC; disabled automatically"


def disable_dead_endpoints(config: Any, now: datetime) -> list[int]:
    """Disable every enabled endpoint that has been failing for the whole period, even if nothing
    has been sent to it lately (all its deliveries ran out of retries). No commit."""
    cutoff = now - timedelta(seconds=float(config["WEBHOOK_DISABLE_AFTER_SECONDS"]))
    dead = db.session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.failing_since).where(
            WebhookEndpoint.enabled.is_(True), WebhookEndpoint.failing_since <= cutoff
        )
    ).all()
    for endpoint_id, failing_since in dead:
        disable(endpoint_id, _long_failure_reason(failing_since), now, alert=True)
    return [endpoint_id for endpoint_id, _ in dead]


def disable(endpoint_id: int, reason: str, now: datetime, *, alert: bool) -> bool:
    """Switch the endpoint off with `reason`; with `alert`, tell every admin. No commit.
    Returns whether this call switched it off (another thread may have done it already)."""
    switched = db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason[:300], circuit_open_until=None, updated_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if switched and alert:
        _alert_admins(endpoint_id, reason, now)
    return bool(switched)


def _alert_admins(endpoint_id: int, reason: str, now: datetime) -> None:
    url = db.session.scalar(select(WebhookEndpoint.url).where(WebhookEndpoint.id == endpoint_id)) or "?"
    path = wording.site_path("staff.webhook_endpoint", endpoint_id=endpoint_id)
    title = f"Webhook endpoint switched off: {url}"[:200]
    body = (
        f"The webhook endpoint {url} (#{endpoint_id}) was {reason}. Nothing more is sent to it. "
        "When the receiver works again, enable it in the staff portal and retry what failed."
    )
    event = OutboxEvent(
        type=DISABLED_ALERT,
        tournament_id=None,
        data={"endpoint_id": endpoint_id, "title": title, "body": body, "path": path},
        occurred_at=now.replace(microsecond=0),
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    admins = list(db.session.scalars(select(User).where(User.is_admin.is_(True), User.active.is_(True))))
    db.session.add_all(
        Notification(user_id=admin.id, event=DISABLED_ALERT, title=title, body=body, url=path, created_at=now)
        for admin in admins
    )
    if current_app.config.get("NOTIFICATIONS_EMAIL_ENABLED"):
        db.session.add_all(
            Delivery(
                outbox_event_id=event.id,
                channel=Channel.EMAIL.value,
                user_id=admin.id,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for admin in admins
        )
    db.session.flush()
