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
  (when NOTIFICATIONS_EMAIL_ENABLED) an email. Disabling (here or by an admin) cancels the
  endpoint's pending deliveries at once, in the same transaction (`cancel_pending`). 410 Gone
  disables at once (the receiver said so). Enabling it again starts afresh.
- The receiver of WEBHOOK_DELIVERY_URL has the same circuit, kept in `receiver_health` (it has
  no endpoint row), but is never switched off: the setting is the operator's, and the web app
  and the worker would disagree about a setting the database overrode. After the same period of
  failure (or at once on 410 Gone) admins are told instead, once per run of failures, and it
  keeps backing off (probing every WEBHOOK_CIRCUIT_MAX_SECONDS at most); its deliveries keep
  their retries and run out of them as usual.
Times come from the caller, who reads the database's clock (`clock.db_now`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import Notification, User
from app.notifications import wording
from app.notifications.models import (
    MAX_URL,
    Channel,
    Delivery,
    DeliveryStatus,
    OutboxEvent,
    ReceiverHealth,
    WebhookEndpoint,
)
from app.notifications.outcome import Outcome, OutcomeKind

DISABLED_ALERT = "webhook.endpoint_disabled"
RECEIVER_ALERT = "webhook.receiver_failing"
_ENDPOINTS = WebhookEndpoint.__table__
_RECEIVERS = ReceiverHealth.__table__


def receiver_key(url: str) -> str:
    """The `receiver_health` key of a configured URL."""
    return hashlib.sha256(url.encode()).hexdigest()


def receiver_health(config: Any) -> ReceiverHealth | None:
    """The health row of the receiver configured now (None: unset, or never failed)."""
    url = config.get("WEBHOOK_DELIVERY_URL") or ""
    return db.session.get(ReceiverHealth, receiver_key(url), populate_existing=True) if url else None


def _target(config: Any, endpoint_id: int | None) -> tuple[Any, Any]:
    """The table and row condition that hold a destination's health."""
    if endpoint_id is None:
        return _RECEIVERS, _RECEIVERS.c.url_hash == receiver_key(config.get("WEBHOOK_DELIVERY_URL") or "")
    return _ENDPOINTS, _ENDPOINTS.c.id == endpoint_id


def _ensure_receiver_row(config: Any) -> None:
    """Insert the configured receiver's row if no worker has yet (several may race: no error)."""
    url = config.get("WEBHOOK_DELIVERY_URL") or ""
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(_RECEIVERS)
        .values(url_hash=receiver_key(url), url=url[:MAX_URL], consecutive_failures=0)
        .on_conflict_do_nothing(index_elements=["url_hash"])
    )


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
        caps[endpoint_id] = _cap(threshold, failures, open_until, now)
    receiver = receiver_health(config)
    if receiver is not None:
        caps[None] = _cap(threshold, receiver.consecutive_failures, receiver.circuit_open_until, now)
    return {key: cap for key, cap in caps.items() if cap is not None}


def open_circuits(config: Any, now: datetime) -> dict[int | None, datetime]:
    """Destinations whose circuit is open now (nothing may be sent), with when it half-opens."""
    circuits: dict[int | None, datetime] = {
        endpoint_id: _aware(until)
        for endpoint_id, until in db.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.circuit_open_until).where(
                WebhookEndpoint.enabled.is_(True), WebhookEndpoint.circuit_open_until > now
            )
        )
    }
    receiver = receiver_health(config)
    if receiver is not None and receiver.circuit_open_until is not None and _aware(receiver.circuit_open_until) > now:
        circuits[None] = _aware(receiver.circuit_open_until)
    return circuits


def _cap(threshold: int, failures: int | None, open_until: datetime | None, now: datetime) -> int | None:
    if open_until is not None and _aware(open_until) > now:
        return 0  # open
    if threshold > 0 and (failures or 0) >= threshold:
        return 1  # half-open: one probe
    return None


def record_many(config: Any, endpoint_id: int | None, outcomes: list[Outcome], now: datetime) -> None:
    """Apply a batch of outcomes, in the order they came in (no commit). Only what follows the
    last success matters, so the successes cost one statement."""
    last_success = max((i for i, outcome in enumerate(outcomes) if outcome.kind == OutcomeKind.DELIVERED), default=None)
    if last_success is not None:
        record(config, endpoint_id, outcomes[last_success], now)
    for outcome in outcomes[(last_success or -1) + 1 :]:
        record(config, endpoint_id, outcome, now)


def record(config: Any, endpoint_id: int | None, outcome: Outcome, now: datetime) -> None:
    """Apply one attempt's outcome to the destination's health (no commit); `endpoint_id` None
    is the receiver of WEBHOOK_DELIVERY_URL."""
    table, this = _target(config, endpoint_id)
    if outcome.kind == OutcomeKind.DELIVERED:
        cleared = {"consecutive_failures": 0, "failing_since": None, "circuit_open_until": None}
        if endpoint_id is None:
            cleared["alerted_at"] = None
        db.session.execute(
            table.update()
            .where(
                this,
                (table.c.consecutive_failures > 0)
                | table.c.failing_since.is_not(None)
                | table.c.circuit_open_until.is_not(None),
            )
            .values(cleared)
        )
        return
    if outcome.status_code == 410 and endpoint_id is not None:
        disable(endpoint_id, f"the receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC", now, alert=False)
        return
    if endpoint_id is None:
        _ensure_receiver_row(config)
    # One statement, so two threads' failures on the same endpoint both count.
    db.session.execute(
        table.update()
        .where(this)
        .values(
            consecutive_failures=table.c.consecutive_failures + 1,
            failing_since=func.coalesce(table.c.failing_since, now),
        )
    )
    row = db.session.execute(select(table.c.consecutive_failures, table.c.failing_since).where(this)).one_or_none()
    if row is None:
        return
    failures, failing_since = row
    delay = circuit_delay(config, failures)
    if delay is not None:
        db.session.execute(table.update().where(this).values(circuit_open_until=now + timedelta(seconds=delay)))
    if endpoint_id is None:
        if outcome.status_code == 410:
            _alert_receiver(config, f"answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC", now)
        elif failing_since is not None and _failed_too_long(config, failing_since, now):
            _alert_receiver(config, _long_failure_reason(failing_since, switched_off=False), now)
    elif failing_since is not None and _failed_too_long(config, failing_since, now):
        disable(endpoint_id, _long_failure_reason(failing_since), now, alert=True)


def _failed_too_long(config: Any, failing_since: datetime, now: datetime) -> bool:
    return now - _aware(failing_since) >= timedelta(seconds=float(config["WEBHOOK_DISABLE_AFTER_SECONDS"]))


def _aware(value: datetime) -> datetime:
    # Read through the bare table, SQLite hands back naive datetimes (UTC by our convention).
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _long_failure_reason(failing_since: datetime, *, switched_off: bool = True) -> str:
    since = f"failing without a success since {_aware(failing_since):%Y-%m-%d %H:%M} UTC"
    return f"{since}; disabled automatically" if switched_off else since


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
    receiver = receiver_health(config)
    if (
        receiver is not None
        and receiver.failing_since is not None
        and _failed_too_long(config, receiver.failing_since, now)
    ):
        _alert_receiver(config, _long_failure_reason(receiver.failing_since, switched_off=False), now)
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
    if switched:
        cancel_pending(endpoint_id, "the endpoint is disabled")
    if switched and alert:
        url = db.session.scalar(select(WebhookEndpoint.url).where(WebhookEndpoint.id == endpoint_id)) or "?"
        _alert_admins(
            DISABLED_ALERT,
            f"Webhook endpoint switched off: {url}",
            f"The webhook endpoint {url} (#{endpoint_id}) was {reason}. Nothing more is sent to it; what "
            "was waiting for it is cancelled. When the receiver works again, enable it in the staff portal "
            "and retry what failed.",
            wording.site_path("staff.webhook_endpoint", endpoint_id=endpoint_id),
            {"endpoint_id": endpoint_id},
            now,
        )
    return bool(switched)


def cancel_pending(endpoint_id: int, reason: str) -> int:
    """Cancel every delivery still waiting for the endpoint (no commit); how many. One in flight
    keeps its lease: if its attempt succeeds, the worker records it delivered; if not, it stays
    cancelled (a retry does not touch the status). `endpoints.retry_failed` brings them back."""
    return db.session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint_id, Delivery.status == DeliveryStatus.PENDING.value)
        .values(status=DeliveryStatus.CANCELLED.value, last_error=reason),
        execution_options={"synchronize_session": False},
    ).rowcount


def _alert_receiver(config: Any, reason: str, now: datetime) -> None:
    """Tell admins the configured receiver keeps failing, once per run of failures."""
    url = config.get("WEBHOOK_DELIVERY_URL") or ""
    told = db.session.execute(
        _RECEIVERS.update()
        .where(_RECEIVERS.c.url_hash == receiver_key(url), _RECEIVERS.c.alerted_at.is_(None))
        .values(alerted_at=now)
    ).rowcount
    if told:
        _alert_admins(
            RECEIVER_ALERT,
            f"Webhook receiver failing: {url}",
            f"The webhook receiver configured in WEBHOOK_DELIVERY_URL ({url}) {reason}. It is not switched "
            "off (it is a setting): the worker keeps backing off and probing it, and deliveries that run "
            "out of retries fail. Fix the receiver or change the setting, then retry what failed.",
            wording.site_path("staff.webhook_default"),
            {"endpoint_id": None},
            now,
        )


def _alert_admins(kind: str, title: str, body: str, path: str, data: dict[str, Any], now: datetime) -> None:
    """An inbox item for every active admin, and an email when email is on."""
    title = title[:200]
    event = OutboxEvent(
        type=kind,
        tournament_id=None,
        data={**data, "title": title, "body": body, "path": path},
        occurred_at=now.replace(microsecond=0),
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    admins = list(db.session.scalars(select(User).where(User.is_admin.is_(True), User.active.is_(True))))
    db.session.add_all(
        Notification(user_id=admin.id, event=kind, title=title, body=body, url=path, created_at=now) for admin in admins
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
