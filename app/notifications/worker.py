"""The delivery worker's run loop: sends what the outbox owes, off the request path, many at once.

The parts, each with its own rules: `leases` (claiming, per-destination caps, the database's
clock), `sending` (sender threads, HTTP sessions, SMTP batches, what is cancelled instead of
sent), `recording` (outcomes, the retry schedule), `health` (circuits and switching off dead
endpoints), `prune` (what the outbox has finished with), `connection_tuning` (cheap commits).

Rules of the loop:
- Claim when slots were freed (at most every CLAIM_INTERVAL), when nothing is in flight, or once
  per WORKER_POLL_INTERVAL for new events while every slot stays busy; record outcomes as they
  come in, several per commit. Leases of what is in flight are renewed every third of
  WORKER_LEASE_SECONDS.
- A worker killed mid-delivery loses nothing: its lease runs out and another worker sends the
  delivery again; receivers dedupe on the event id, the same on every attempt. SIGTERM stops
  claiming, lets what is in flight finish for up to WORKER_SHUTDOWN_GRACE seconds, records it,
  and hands back (releases) whatever is still unfinished, so others need not wait for the lease.
- `run(until_idle=True)` returns once nothing pending can be sent before a circuit closes: it
  waits for scheduled retries and for other workers' leases, not for open circuits (up to
  WEBHOOK_CIRCUIT_MAX_SECONDS); what it leaves behind them is in `parked`.
- A database outage keeps the process: it backs off (up to 30 s) and tries again.
- Every WORKER_PRUNE_INTERVAL seconds the worker switches off endpoints that have failed for the
  whole WEBHOOK_DISABLE_AFTER_SECONDS and prunes old delivered rows; every
  REGISTRATION_TICK_SECONDS it runs the timed steps handed in by whoever started it.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import case, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.notifications import health, leases, prune, recording, webhooks
from app.notifications.clock import db_now
from app.notifications.connection_tuning import switch_sqlite_to_wal, tune_connections
from app.notifications.leases import EMAIL_KEY, Key
from app.notifications.models import Channel, Delivery, DeliveryStatus
from app.notifications.outcome import Outcome
from app.notifications.sending import Flight, Result, Senders, cancel_reason, internal_error

# Seconds between two claims while outcomes keep coming in: each claim is several statements,
# so outcomes that arrive within this window share one.
CLAIM_INTERVAL = 0.01


@dataclass
class Parked:
    """Pending deliveries that wait behind open circuits, and when the first circuit half-opens."""

    deliveries: int = 0
    until: datetime | None = None

    def add(self, count: int, until: datetime) -> None:
        self.deliveries += count
        self.until = until if self.until is None else min(self.until, until)


@dataclass
class Stats:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0


class Worker:
    def __init__(
        self,
        app: Flask,
        name: str | None = None,
        clock: Callable[[], datetime] | None = None,
        timed_steps: Sequence[Callable[[], Any]] = (),
    ) -> None:
        self.app = app
        self.timed_steps = list(timed_steps)
        self._next_timed_steps = 0.0
        self.name = (name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")[:100]
        self.clock = clock or db_now
        self.stats = Stats()
        self._stop = threading.Event()
        self._senders = Senders(app, self._stop)
        self._flights: dict[int, Flight] = {}
        self._renew_at = 0.0
        self._housekeeping_at = 0.0
        # What `run(until_idle=True)` left behind open circuits when it stopped.
        self.parked = Parked()

    def stop(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------------- loop

    def run(self, *, until_idle: bool = False) -> Stats:
        with self.app.app_context():
            wal = tune_connections()
            poll = float(current_app.config["WORKER_POLL_INTERVAL"])
            outage = 0
            try:
                last_claim, freed = -1e9, True
                while not self._stop.is_set():
                    try:
                        self._housekeeping()
                        self.timed_steps_tick()
                        since = time.monotonic() - last_claim
                        taken = 0
                        if not self._flights or since >= (CLAIM_INTERVAL if freed else poll):
                            taken = self.fill()
                            last_claim, freed = time.monotonic(), False
                        if self._flights:
                            since = time.monotonic() - last_claim
                            timeout = (CLAIM_INTERVAL if freed else poll) - since
                            if self.collect(timeout=max(0.001, timeout)):
                                freed = True
                            outage = 0
                            continue
                        if taken:
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
            finally:
                self._wind_down()
                db.session.remove()
        return self.stats

    def run_once(self) -> int:
        """Claim what this worker has room for, send it all, and record every outcome; the number
        of deliveries handled. (The loop in `run` does not wait for a whole round.)"""
        handled = self.fill()
        while self._flights:
            if self._stop.is_set():
                self._wind_down()
                break
            self.collect(timeout=1.0)
        return handled

    def _wind_down(self) -> None:
        """Let what is in flight finish (up to the grace period), record it, hand back the rest."""
        grace = float(current_app.config["WORKER_SHUTDOWN_GRACE"])
        deadline = time.monotonic() + grace
        while self._flights and time.monotonic() < deadline:
            try:
                self.collect(timeout=min(0.5, max(0.01, deadline - time.monotonic())))
            except OperationalError:
                db.session.rollback()
                break
        if self._flights:
            try:
                leases.release(self.name, list(self._flights))
            except OperationalError:
                db.session.rollback()  # the leases run out by themselves
            self._flights.clear()
        self._senders.close()

    def timed_steps_tick(self) -> None:
        """The timed steps handed in (registration's deadlines, waiting list and no-shows), at
        most every REGISTRATION_TICK_SECONDS: the worker is the one process that always runs.
        They are passed in by whoever starts the worker (`flask worker`), because this package
        imports no service. A step that fails is logged and tried again next time; it must not
        stop deliveries."""
        if not self.timed_steps or time.monotonic() < self._next_timed_steps:
            return
        self._next_timed_steps = time.monotonic() + float(current_app.config["REGISTRATION_TICK_SECONDS"])
        for step in self.timed_steps:
            try:
                step()
            except OperationalError:
                raise
            except Exception:
                db.session.rollback()
                current_app.logger.exception("worker %s: timed step %s failed", self.name, step.__name__)

    def _idle_wait(self, poll: float) -> float | None:
        """None when nothing pending can be sent before a circuit closes (nothing pending at all,
        or all of it waits behind open circuits: `parked` says how much and until when); else
        how long until something may be due. A scheduled retry or another worker's live lease is
        waited for: that is what "until idle" promises."""
        now = self.clock()
        # A row is due at its next attempt time, or when its current lease runs out if later.
        due_at = case(
            (Delivery.lease_until > Delivery.next_attempt_at, Delivery.lease_until), else_=Delivery.next_attempt_at
        )
        rows = db.session.execute(
            select(Delivery.channel, Delivery.endpoint_id, func.count(Delivery.id), func.min(due_at))
            .where(Delivery.status == DeliveryStatus.PENDING.value)
            .group_by(Delivery.channel, Delivery.endpoint_id)
        ).all()
        circuits = health.open_circuits(current_app.config, now) if rows else {}
        db.session.rollback()
        self.parked = Parked()
        soonest: datetime | None = None
        waiting = False
        for channel, endpoint_id, count, soonest_at in rows:
            reopens = circuits.get(endpoint_id) if channel == Channel.WEBHOOK.value else None
            if reopens is not None:
                self.parked.add(count, reopens)
                continue
            waiting = True
            if isinstance(soonest_at, str):  # SQLite hands back the text of a CASE over timestamps
                soonest_at = datetime.fromisoformat(soonest_at).replace(tzinfo=UTC)
            if soonest_at is not None and (soonest is None or soonest_at < soonest):
                soonest = soonest_at
        if not waiting:
            return None
        if soonest is None:
            return poll
        wait = (soonest - now).total_seconds()
        # Due already, yet not claimed: held by others, or its endpoint is full or half-open.
        return poll if wait <= 0 else max(0.01, min(poll, wait))

    def _housekeeping(self) -> None:
        config = current_app.config
        mono = time.monotonic()
        if self._flights and mono >= self._renew_at:
            self._renew()
        if mono >= self._housekeeping_at:
            self._housekeeping_at = mono + float(config["WORKER_PRUNE_INTERVAL"])
            now = self.clock()
            health.disable_dead_endpoints(config, now)
            db.session.commit()
            # A few batches per round, so a large backlog never holds up sending for long.
            prune.prune(config, now, max_batches=20)

    # ------------------------------------------------------------------------- claiming

    def claim(self, limit: int | None = None) -> tuple[str, list[int]]:
        """Lease up to `limit` due deliveries (default: this worker's free slots) under this
        worker's name (`leases.claim`); returns (lease token, ids). Commits."""
        if limit is None:
            limit = self._free_slots()
        ids = leases.claim(current_app.config, self.name, self.clock, limit, email_busy=self._email_busy())
        self.stats.claimed += len(ids)
        return self.name, ids

    def _free_slots(self) -> int:
        concurrency = max(1, int(current_app.config["WORKER_CONCURRENCY"]))
        webhooks_out = sum(1 for f in self._flights.values() if f.key != EMAIL_KEY)
        return concurrency - webhooks_out - (1 if self._email_busy() else 0)

    def _email_busy(self) -> bool:
        return any(f.key == EMAIL_KEY for f in self._flights.values())

    def _renew(self) -> None:
        """Extend the leases of everything in flight."""
        lease = float(current_app.config["WORKER_LEASE_SECONDS"])
        leases.renew(self.name, list(self._flights), self.clock() + timedelta(seconds=lease))
        self._renew_at = time.monotonic() + lease / 3

    # ------------------------------------------------------------------------- sending

    def fill(self) -> int:
        """Claim what there is room for and hand it to the sender threads; how many were taken."""
        if self._stop.is_set():
            return 0
        _token, ids = self.claim()
        if not ids:
            return 0
        config = current_app.config
        if not self._flights:
            self._renew_at = time.monotonic() + float(config["WORKER_LEASE_SECONDS"]) / 3
        started_at = self.clock()
        deliveries = db.session.scalars(
            select(Delivery)
            .where(Delivery.id.in_(ids), Delivery.leased_by == self.name)
            .options(joinedload(Delivery.event), joinedload(Delivery.endpoint))
            .order_by(Delivery.id)
            .execution_options(populate_existing=True)
        ).all()
        settled: list[Result] = []
        cancelled: list[tuple[int, str]] = []
        emails: list[int] = []
        for delivery in deliveries:
            key: Key = (delivery.channel, delivery.endpoint_id)
            if delivery.channel == Channel.EMAIL.value:
                emails.append(delivery.id)
                self._flights[delivery.id] = Flight(EMAIL_KEY, delivery.attempts + 1, started_at)
                continue
            reason = cancel_reason(delivery)
            if reason is not None:
                cancelled.append((delivery.id, reason))
                continue
            self._flights[delivery.id] = Flight(key, delivery.attempts + 1, started_at)
            if delivery.channel != Channel.WEBHOOK.value:
                settled.append(Result(delivery.id, Outcome.give_up(f"unknown channel {delivery.channel!r}")))
                continue
            try:
                prepared = webhooks.prepare(delivery)
            except Exception as exc:  # a bug must not stop the worker or lose the delivery
                current_app.logger.exception("delivery %s: preparing it raised", delivery.id)
                prepared = internal_error(exc)
            if isinstance(prepared, Outcome):
                settled.append(Result(delivery.id, prepared, started_at))
                continue
            self._senders.webhook(delivery.id, key, prepared, started_at)
        db.session.rollback()  # end the read; the objects are not used past this point
        for delivery_id, reason in cancelled:
            leases.settle(self.name, delivery_id, DeliveryStatus.CANCELLED, reason)
            self.stats.cancelled += 1
        if emails:
            self._senders.emails(emails, started_at)
        if settled:
            self._record(settled)
        return len(ids)

    def collect(self, timeout: float) -> int:
        """Wait up to `timeout` for finished attempts, then record all that are in (one commit)."""
        results = self._senders.results
        try:
            first = results.get(timeout=timeout)
        except queue.Empty:
            return 0
        done = [first]
        while True:
            try:
                done.append(results.get_nowait())
            except queue.Empty:
                break
        handed_back = [r.delivery_id for r in done if r.outcome is None]
        if handed_back:
            leases.release(self.name, handed_back)
            for delivery_id in handed_back:
                self._flights.pop(delivery_id, None)
        self._record([r for r in done if r.outcome is not None])
        return len(done)

    def _record(self, results: list[Result]) -> None:
        tally = recording.record(self.name, self._flights, results, self.clock)
        for result in results:
            self._flights.pop(result.delivery_id, None)
        self.stats.delivered += tally.delivered
        self.stats.retried += tally.retried
        self.stats.failed += tally.failed


def install_signal_handlers(worker: Worker) -> None:
    """SIGTERM / SIGINT: stop claiming, finish what is in flight (up to the grace period), hand
    back the rest."""

    def handler(signum: int, _frame: Any) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
