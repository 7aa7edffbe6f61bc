"""The delivery worker: sends what the outbox owes, off the request path.

Rules:
- A worker claims due pending deliveries (either channel) with a lease: `lease_until` and a
  claim token in `leased_by`. On PostgreSQL the claim is `SELECT ... FOR UPDATE SKIP LOCKED`,
  so concurrent workers take different rows without waiting for each other; on SQLite it is a
  single compare-and-set UPDATE (SQLite runs one writer at a time, so two workers can never
  both match a row). A claimed row is not due for anyone else until its lease runs out, so
  several workers never send the same delivery twice in normal operation.
- A worker killed mid-delivery loses nothing: its lease expires and another worker (or the
  same one, restarted) sends the delivery again. Receivers dedupe on the event id, which is the
  same on every attempt. The lease is renewed before an attempt that might outlast it.
- Every attempt is recorded (outcome, HTTP status, latency, a truncated response). A failure is
  retried after WEBHOOK_RETRY_DELAYS[n] seconds (the last delay repeats), at most
  WEBHOOK_MAX_RETRIES times after the first attempt, for both channels; a channel's GIVE_UP
  (410 Gone, a refused address, a permanent SMTP rejection) fails the delivery at once.
- A webhook delivery whose endpoint was disabled or removed meanwhile is cancelled, not sent.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import sqlite3
import threading
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import case, event, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import utcnow
from app.notifications.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from app.notifications.outcome import Outcome, OutcomeKind

_DELIVERIES = Delivery.__table__
_ATTEMPTS = DeliveryAttempt.__table__
# Extra time a lease must have left, beyond the channel's own timeouts, before an attempt starts.
_LEASE_MARGIN = 2.0


def _due(now: datetime) -> Any:
    return (
        (Delivery.status == DeliveryStatus.PENDING.value)
        & (Delivery.next_attempt_at <= now)
        & or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)
    )


def retry_delay(config: Any, attempts: int) -> float | None:
    """Seconds before the next try after `attempts` failed attempts, or None: no more tries."""
    retries_done = attempts - 1
    if retries_done >= int(config["WEBHOOK_MAX_RETRIES"]):
        return None
    delays = list(config["WEBHOOK_RETRY_DELAYS"]) or [0]
    return float(delays[min(retries_done, len(delays) - 1)])


@dataclass
class Stats:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0


class Worker:
    def __init__(self, app: Flask, name: str | None = None) -> None:
        self.app = app
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stats = Stats()
        self._stop = threading.Event()
        self._claims = 0
        # When the current claim's lease runs out, as far as this worker knows.
        self._lease_expiry: datetime | None = None
        self._next_registration_tick = 0.0

    def stop(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------------- loop

    def run(self, *, until_idle: bool = False) -> Stats:
        with self.app.app_context():
            wal = _tune_connections()
            poll = float(current_app.config["WORKER_POLL_INTERVAL"])
            outage = 0
            while not self._stop.is_set():
                try:
                    self.registration_tick()
                    if self.run_once():
                        outage = 0
                        continue
                    if not wal:
                        wal = switch_sqlite_to_wal(db.engine.url.database)
                    wait = self._idle_wait(poll)
                    outage = 0
                except OperationalError as exc:
                    # The database is away (restart, failover, network): keep the process and
                    # try again, backing off; nothing is lost, the rows wait in the outbox.
                    outage += 1
                    db.session.rollback()
                    wait = min(30.0, poll * 2**outage)
                    current_app.logger.warning(
                        "worker %s: database unavailable (%s); retry in %.1f s", self.name, exc.orig, wait
                    )
                if wait is None:
                    if until_idle:
                        break
                    wait = poll
                self._stop.wait(wait)
            db.session.remove()
        return self.stats

    def run_once(self) -> int:
        """Claim one batch and work through it; the number of deliveries handled."""
        claim, ids = self.claim()
        for position, delivery_id in enumerate(ids):
            if self._stop.is_set():
                # Hand the rest back at once rather than making others wait for the lease.
                self._release(claim, ids[position:])
                break
            self.process(claim, delivery_id, ids[position:])
        return len(ids)

    def registration_tick(self) -> None:
        """Registration's timed steps (app/services/entries.py), at most every
        REGISTRATION_TICK_SECONDS: the worker is the one process that always runs. A step that
        fails is logged and tried again next time; it must not stop deliveries."""
        if time.monotonic() < self._next_registration_tick:
            return
        self._next_registration_tick = time.monotonic() + float(current_app.config["REGISTRATION_TICK_SECONDS"])
        # Imported here: the services import the outbox, which lives in this package.
        from app.services import entries

        try:
            entries.run_timed_steps()
        except OperationalError:
            raise
        except Exception:
            db.session.rollback()
            current_app.logger.exception("worker %s: registration timed steps failed", self.name)

    def _idle_wait(self, poll: float) -> float | None:
        """None when nothing is pending at all; else how long until something may be due."""
        now = utcnow()
        # A row is due at its next attempt time, or when its current lease runs out if later.
        due_at = case(
            (Delivery.lease_until > Delivery.next_attempt_at, Delivery.lease_until), else_=Delivery.next_attempt_at
        )
        count, soonest_at = db.session.execute(
            select(func.count(Delivery.id), func.min(due_at)).where(Delivery.status == DeliveryStatus.PENDING.value)
        ).one()
        db.session.rollback()
        if not count:
            return None
        if soonest_at is None:
            return poll
        if isinstance(soonest_at, str):  # SQLite hands back the text of a CASE over timestamps
            soonest_at = datetime.fromisoformat(soonest_at).replace(tzinfo=UTC)
        return max(0.01, min(poll, (soonest_at - now).total_seconds()))

    # ------------------------------------------------------------------------- claiming

    def claim(self) -> tuple[str, list[int]]:
        config = current_app.config
        self._claims += 1
        token = f"{self.name}#{self._claims}"[:100]
        now = utcnow()
        until = now + timedelta(seconds=float(config["WORKER_LEASE_SECONDS"]))
        limit = int(config["WORKER_BATCH_SIZE"])
        if db.engine.dialect.name == "postgresql":
            ids = list(
                db.session.scalars(
                    select(Delivery.id)
                    .where(_due(now))
                    .order_by(Delivery.next_attempt_at, Delivery.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if ids:
                db.session.execute(
                    update(Delivery).where(Delivery.id.in_(ids)).values(lease_until=until, leased_by=token),
                    execution_options={"synchronize_session": False},
                )
        else:
            candidates = (
                select(Delivery.id).where(_due(now)).order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
            )
            ids = list(
                db.session.scalars(
                    update(Delivery)
                    .where(Delivery.id.in_(candidates.scalar_subquery()), _due(now))
                    .values(lease_until=until, leased_by=token)
                    .returning(Delivery.id),
                    execution_options={"synchronize_session": False},
                )
            )
        db.session.commit()
        self._lease_expiry = until
        ids.sort()
        self.stats.claimed += len(ids)
        return token, ids

    def _renew(self, token: str, ids: list[int], needed: float) -> None:
        """Make sure the claim on `ids` lasts at least `needed` more seconds (a no-op, without a
        database round trip, while the lease taken at claim time is long enough)."""
        now = utcnow()
        if self._lease_expiry is not None and self._lease_expiry - now >= timedelta(seconds=needed):
            return
        until = now + timedelta(seconds=max(needed, float(current_app.config["WORKER_LEASE_SECONDS"])))
        db.session.execute(
            update(Delivery).where(Delivery.id.in_(ids), Delivery.leased_by == token).values(lease_until=until),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()
        self._lease_expiry = until

    def _release(self, token: str, ids: list[int]) -> None:
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.leased_by == token)
            .values(lease_until=None, leased_by=None),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()

    # ------------------------------------------------------------------------- one delivery

    def process(self, token: str, delivery_id: int, remaining: list[int] | None = None) -> None:
        delivery = db.session.get(Delivery, delivery_id, populate_existing=True, options=[joinedload(Delivery.event)])
        if delivery is None or delivery.leased_by != token or delivery.status != DeliveryStatus.PENDING.value:
            db.session.rollback()
            return  # no longer ours (lease lost) or already settled
        self._renew(token, remaining or [delivery_id], self._longest_attempt(delivery.channel))
        if delivery.leased_by != token:  # re-read if the renewal committed: taken over meanwhile
            db.session.rollback()
            return
        cancel_reason = self._cancel_reason(delivery)
        if cancel_reason is not None:
            self._settle(token, delivery_id, DeliveryStatus.CANCELLED, cancel_reason)
            self.stats.cancelled += 1
            return
        attempt_number = delivery.attempts + 1
        started_at = utcnow()
        started = time.monotonic()
        try:
            outcome = self._dispatch(delivery)
        except Exception as exc:  # a bug in one channel must not stop the worker or lose the delivery
            current_app.logger.exception("delivery %s: its channel raised", delivery_id)
            outcome = Outcome.retry(f"internal error: {type(exc).__name__}: {str(exc)[:300]}")
        if outcome.latency_ms is None:
            outcome = Outcome(
                outcome.kind,
                outcome.detail,
                outcome.status_code,
                int((time.monotonic() - started) * 1000),
                outcome.response_excerpt,
            )
        self._record(token, delivery_id, attempt_number, outcome, started_at)

    @staticmethod
    def _longest_attempt(channel: str) -> float:
        """Seconds one attempt on `channel` can take, with a margin: the lease must outlast it."""
        config = current_app.config
        if channel == Channel.EMAIL.value:
            # Connecting and then each SMTP command may each take up to MAIL_TIMEOUT.
            return float(config["MAIL_TIMEOUT"]) * 3 + _LEASE_MARGIN
        return float(config["WEBHOOK_CONNECT_TIMEOUT"]) + float(config["WEBHOOK_TIMEOUT"]) + _LEASE_MARGIN

    def _cancel_reason(self, delivery: Delivery) -> str | None:
        if delivery.channel != Channel.WEBHOOK.value:
            return None
        if delivery.endpoint_id is None:
            return None if current_app.config.get("WEBHOOK_DELIVERY_URL") else "WEBHOOK_DELIVERY_URL is no longer set"
        if delivery.endpoint is None:
            return "the endpoint was removed"
        if not delivery.endpoint.enabled:
            return "the endpoint is disabled"
        return None

    def _dispatch(self, delivery: Delivery) -> Outcome:
        if delivery.channel == Channel.WEBHOOK.value:
            from app.notifications import webhooks

            return webhooks.deliver(delivery)
        if delivery.channel == Channel.EMAIL.value:
            try:
                email = importlib.import_module("app.notifications.email")
            except ModuleNotFoundError as exc:
                if exc.name != "app.notifications.email":
                    raise
                return Outcome.retry("the email channel (app.notifications.email) is not installed")
            return email.deliver(delivery)
        return Outcome.give_up(f"unknown channel {delivery.channel!r}")

    def _record(self, token: str, delivery_id: int, attempts: int, outcome: Outcome, started_at: datetime) -> None:
        """Write the attempt and its consequence. `attempts` counts this one; nobody else
        changes the row while we hold its lease, so it is read from the row we loaded."""
        # Keep what the channel changed (an endpoint disabled by a 410), on top of the attempt.
        try:
            db.session.flush()
        except Exception:
            db.session.rollback()
        now = utcnow()
        values: dict[str, Any] = {"attempts": attempts, "lease_until": None, "leased_by": None}
        if outcome.kind == OutcomeKind.DELIVERED:
            values.update(status=DeliveryStatus.DELIVERED.value, delivered_at=now, last_error=None)
            self.stats.delivered += 1
        else:
            delay = retry_delay(current_app.config, attempts) if outcome.kind == OutcomeKind.RETRY else None
            values["last_error"] = outcome.detail[:1000]
            if delay is None:
                values["status"] = DeliveryStatus.FAILED.value
                self.stats.failed += 1
            else:
                values["next_attempt_at"] = now + timedelta(seconds=delay)
                self.stats.retried += 1
        attempt = dict(
            delivery_id=delivery_id,
            number=attempts,
            outcome=outcome.kind.value,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            detail=outcome.detail[:1000],
            response_excerpt=(outcome.response_excerpt or "")[:500],
            worker=self.name[:100],
            started_at=started_at,
        )
        for tries_left in range(2, -1, -1):
            try:
                moved = self._write_outcome(token, delivery_id, attempt, values)
                break
            except OperationalError:
                # A busy database must not drop an outcome: that would send the delivery again.
                db.session.rollback()
                if not tries_left:
                    raise
                time.sleep(0.5)
        if moved != 1:
            # Our lease ran out and another worker took the delivery over; the attempt is still
            # logged, the status is theirs to set.
            current_app.logger.warning("delivery %s: lease lost before the outcome was recorded", delivery_id)

    @staticmethod
    def _write_outcome(token: str, delivery_id: int, attempt: dict[str, Any], values: dict[str, Any]) -> int:
        # Plain table statements: the ORM's bulk-update bookkeeping cost more than the SQL itself.
        db.session.execute(_ATTEMPTS.insert().values(**attempt))
        moved = db.session.execute(
            _DELIVERIES.update()
            .where(_DELIVERIES.c.id == delivery_id, _DELIVERIES.c.leased_by == token)
            .values(**values)
        ).rowcount
        db.session.commit()
        return moved

    def _settle(self, token: str, delivery_id: int, status: DeliveryStatus, reason: str) -> None:
        db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.leased_by == token)
            .values(status=status.value, last_error=reason, lease_until=None, leased_by=None),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()


def _tune_connections() -> bool:
    """Make the worker's bookkeeping commits cheap; they were its main cost (one per attempt).

    SQLite: the database file switches to write-ahead logging (kept by the file), so the web
    app's reads and the worker's writes stop blocking each other, and the worker's connections
    use synchronous=NORMAL: a commit no longer waits for fsyncs, yet survives a crash of any
    process. PostgreSQL: the worker's sessions use synchronous_commit=off, so a commit does not
    wait for the WAL flush; only a crash of the database server itself can lose the last
    fraction of a second of claims and outcomes, and the worst that does is send those
    deliveries again, which receivers dedupe on the event id. The outbox rows themselves are
    written by the web app, with full durability.
    """
    engine = db.engine
    if engine.dialect.name == "sqlite":
        if engine.url.database in (None, "", ":memory:"):
            return True
        listener = _sqlite_synchronous_normal
    elif engine.dialect.name == "postgresql":
        listener = _postgres_async_commit
    else:
        return True
    if not event.contains(engine, "connect", listener):
        event.listen(engine, "connect", listener)
        engine.dispose()  # connections opened before the listener get it too
    if listener is _sqlite_synchronous_normal:
        return switch_sqlite_to_wal(engine.url.database)
    return True


def switch_sqlite_to_wal(path: str) -> bool:
    """Try once, briefly: the switch needs the file to itself, and waiting for it while another
    process holds a write lock could stall both. Returns whether the file is in WAL mode."""
    try:
        with closing(sqlite3.connect(path, timeout=1)) as connection:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return True
            return connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    except sqlite3.OperationalError as exc:
        current_app.logger.info("SQLite file busy, WAL mode later: %s", exc)
        return False


def _postgres_async_commit(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    dbapi_connection.commit()


def _sqlite_synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def install_signal_handlers(worker: Worker) -> None:
    """SIGTERM / SIGINT finish the delivery in hand, then stop (the rest of the claim is released)."""

    def handler(signum: int, _frame: Any) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
