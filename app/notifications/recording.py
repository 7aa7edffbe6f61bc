"""Recording: what an attempt's outcome does to its delivery, its log and its endpoint's health.

Rules:
- Every attempt is recorded (outcome, HTTP status, latency, a truncated response, the worker,
  when it started), whatever it came to.
- DELIVERED ends the delivery. A RETRY is tried again after WEBHOOK_RETRY_DELAYS[n] seconds
  (the last delay repeats), at most WEBHOOK_MAX_RETRIES times after the first attempt, for both
  channels; after that, or on a channel's GIVE_UP (410 Gone, a refused address, a permanent
  SMTP rejection), the delivery FAILED.
- The outcome also moves the destination's health (`health`), in the same transaction.
- A batch of outcomes is one commit (one multi-row INSERT of the attempts, one executemany
  UPDATE per kind of consequence). A busy database is retried: dropping an outcome would send
  the delivery again.
- Only the lease holder may change a delivery's status: an attempt whose lease ran out (another
  worker took the delivery over) is still logged, but the status is the new holder's to set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.notifications import health
from app.notifications.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from app.notifications.outcome import OutcomeKind
from app.notifications.sending import Flight, Result

_DELIVERIES = Delivery.__table__
_ATTEMPTS = DeliveryAttempt.__table__


@dataclass
class Tally:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def retry_delay(config: Any, attempts: int) -> float | None:
    """Seconds before the next try after `attempts` failed attempts, or None: no more tries."""
    retries_done = attempts - 1
    if retries_done >= int(config["WEBHOOK_MAX_RETRIES"]):
        return None
    delays = list(config["WEBHOOK_RETRY_DELAYS"]) or [0]
    return float(delays[min(retries_done, len(delays) - 1)])


def record(holder: str, flights: dict[int, Flight], results: list[Result], now: Any) -> Tally:
    """Write `results` (all attempted) in one commit; `now` is a callable giving database time.
    Retries a busy database twice before raising."""
    tally = Tally()
    if not results:
        return tally
    config = current_app.config
    for tries_left in range(2, -1, -1):
        try:
            tally, moved = _write_all(config, holder, flights, results, now())
            db.session.commit()
            break
        except OperationalError:
            db.session.rollback()
            if not tries_left:
                raise
            time.sleep(0.5)
    if moved != len(results):
        current_app.logger.warning("%d deliveries: lease lost before the outcome was recorded", len(results) - moved)
    return tally


def _write_all(
    config: Any, holder: str, flights: dict[int, Flight], results: list[Result], now: datetime
) -> tuple[Tally, int]:
    """The statements for a batch of outcomes (building a statement per row cost more than
    running it); returns the tally and how many deliveries this holder still held."""
    tally = Tally()
    attempts: list[dict[str, Any]] = []
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    by_destination: dict[int | None, list[Any]] = {}
    for result in results:
        flight = flights.get(result.delivery_id)
        outcome = result.outcome
        assert outcome is not None
        number = flight.attempt if flight is not None else 1
        latency = outcome.latency_ms
        if latency is None and flight is not None:
            latency = int((time.monotonic() - flight.started) * 1000)
        values: dict[str, Any] = {"attempts": number, "lease_until": None, "leased_by": None}
        if outcome.kind == OutcomeKind.DELIVERED:
            values.update(status=DeliveryStatus.DELIVERED.value, delivered_at=now, last_error=None)
            tally.delivered += 1
        else:
            delay = retry_delay(config, number) if outcome.kind == OutcomeKind.RETRY else None
            values["last_error"] = outcome.detail[:1000]
            if delay is None:
                values["status"] = DeliveryStatus.FAILED.value
                tally.failed += 1
            else:
                values["next_attempt_at"] = now + timedelta(seconds=delay)
                tally.retried += 1
        shape = tuple(sorted(values))
        by_shape.setdefault(shape, []).append({**values, "b_id": result.delivery_id})
        attempts.append(
            {
                "delivery_id": result.delivery_id,
                "number": number,
                "outcome": outcome.kind.value,
                "status_code": outcome.status_code,
                "latency_ms": latency,
                "detail": outcome.detail[:1000],
                "response_excerpt": (outcome.response_excerpt or "")[:500],
                "worker": holder,
                "started_at": result.started_at or (flight.started_at if flight else now),
            }
        )
        if flight is not None and flight.key[0] == Channel.WEBHOOK.value:
            by_destination.setdefault(flight.key[1], []).append(outcome)
    db.session.execute(_ATTEMPTS.insert(), attempts)
    moved = 0
    for shape, rows in by_shape.items():
        statement = (
            _DELIVERIES.update()
            .where(_DELIVERIES.c.id == bindparam("b_id"), _DELIVERIES.c.leased_by == holder)
            .values({name: bindparam(name) for name in shape})
        )
        moved += db.session.execute(statement, rows).rowcount
    for endpoint_id, outcomes in by_destination.items():
        health.record_many(config, endpoint_id, outcomes, now)
    return tally, moved
