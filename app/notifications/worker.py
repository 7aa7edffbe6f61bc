"""The delivery worker: sends what the outbox owes, off the request path, many at once.

Rules:
- One worker process has up to WORKER_CONCURRENCY deliveries in flight (sender threads), at
  most WORKER_PER_ENDPOINT per webhook endpoint, so a slow or dead endpoint holds only its own
  slots: a claim skips every endpoint that is full, has its circuit open, or (half-open) has its
  one probe out (`health`). Each endpoint has its own keep-alive HTTP session, and every
  connection still goes through the SSRF guard (`net`). Emails go out as one task at a time per
  process, through one SMTP connection for the whole batch.
- A claim is a lease: `lease_until` and this worker's name in `leased_by`, set by one
  compare-and-set UPDATE that only matches rows still due, so two workers can never both take a
  row. The per-endpoint cap counts every worker's live leases, and claims are serialised (an
  advisory lock on PostgreSQL, the write lock on SQLite), so workers cannot together overshoot it.
- Leases and due times are read from the DATABASE's clock (`clock.db_now`), never the host's:
  hosts with skewed clocks cannot take over each other's live leases. A new delivery is due at
  once whatever its timestamp says. Leases are renewed while their deliveries are in flight.
- A worker killed mid-delivery loses nothing: its lease runs out and another worker sends the
  delivery again; receivers dedupe on the event id, the same on every attempt. SIGTERM stops
  claiming, lets what is in flight finish for up to WORKER_SHUTDOWN_GRACE seconds, records it,
  and hands back (releases) whatever is still unfinished, so others need not wait for the lease.
- Every attempt is recorded (outcome, HTTP status, latency, a truncated response). A failure is
  retried after WEBHOOK_RETRY_DELAYS[n] seconds (the last delay repeats), at most
  WEBHOOK_MAX_RETRIES times after the first attempt, for both channels; a channel's GIVE_UP
  (410 Gone, a refused address, a permanent SMTP rejection) fails the delivery at once.
- A webhook delivery whose endpoint was disabled or removed meanwhile is cancelled, not sent.
- Every WORKER_PRUNE_INTERVAL seconds the worker prunes old delivered rows (`prune`) and
  switches off endpoints that have failed for the whole WEBHOOK_DISABLE_AFTER_SECONDS.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from flask import Flask, current_app
from sqlalchemy import bindparam, case, event, func, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.notifications import email, health, prune, webhooks
from app.notifications.clock import db_now
from app.notifications.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from app.notifications.outcome import Outcome, OutcomeKind

_DELIVERIES = Delivery.__table__
_ATTEMPTS = DeliveryAttempt.__table__
# Seconds between two claims while outcomes keep coming in: each claim is several statements,
# so outcomes that arrive within this window share one.
CLAIM_INTERVAL = 0.01
# Any constant will do: every worker must use the same one for its claims.
_CLAIM_LOCK = 0x0DE17AC0
# A key per destination: ("webhook", endpoint id or None for WEBHOOK_DELIVERY_URL), ("email", None).
Key = tuple[str, int | None]
EMAIL_KEY: Key = (Channel.EMAIL.value, None)


def _due(now: datetime) -> Any:
    return (
        (Delivery.status == DeliveryStatus.PENDING.value)
        & ((Delivery.attempts == 0) | (Delivery.next_attempt_at <= now))
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


@dataclass
class Flight:
    """One delivery this worker holds: where it goes and which attempt this is."""

    key: Key
    attempt: int
    started_at: datetime
    started: float = field(default_factory=time.monotonic)


@dataclass
class Result:
    delivery_id: int
    # None: not attempted, hand it back (the worker is stopping).
    outcome: Outcome | None
    started_at: datetime | None = None


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
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._results: queue.Queue[Result] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._flights: dict[int, Flight] = {}
        self._sessions: dict[Key, requests.Session] = {}
        self._renew_at = 0.0
        self._housekeeping_at = 0.0

    def stop(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------------- loop

    def run(self, *, until_idle: bool = False) -> Stats:
        with self.app.app_context():
            wal = _tune_connections()
            poll = float(current_app.config["WORKER_POLL_INTERVAL"])
            outage = 0
            try:
                last_claim, freed = -1e9, True
                while not self._stop.is_set():
                    try:
                        self._housekeeping()
                        self.timed_steps_tick()
                        # Claim when slots were freed (at most every CLAIM_INTERVAL: a claim costs
                        # more than recording a few outcomes), when nothing is in flight, or once
                        # per poll interval for new events while every slot stays busy.
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
                self._release(list(self._flights))
            except OperationalError:
                db.session.rollback()  # the leases run out by themselves
            self._flights.clear()
        for _ in self._threads:
            self._jobs.put(None)
        self._threads = []
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

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
        """None when nothing is pending at all; else how long until something may be due."""
        now = self.clock()
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
        wait = (soonest_at - now).total_seconds()
        # Due already, yet not claimed: held by others, or its endpoint is full or its circuit open.
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

    def _room(self, now: datetime) -> dict[Key, int]:
        """How many more deliveries each destination may have in flight, for destinations that
        are limited below the usual cap (full, half-open, circuit open); others: the usual cap."""
        config = current_app.config
        per_endpoint = max(1, int(config["WORKER_PER_ENDPOINT"]))
        threshold = int(config["WEBHOOK_CIRCUIT_THRESHOLD"])
        caps: dict[Key, int] = {EMAIL_KEY: 0 if self._email_busy() else max(1, int(config["WORKER_BATCH_SIZE"]))}
        for endpoint_id, failures, open_until in db.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.consecutive_failures, WebhookEndpoint.circuit_open_until).where(
                WebhookEndpoint.enabled.is_(True),
                (WebhookEndpoint.consecutive_failures > 0) | WebhookEndpoint.circuit_open_until.is_not(None),
            )
        ):
            if open_until is not None and open_until > now:
                caps[(Channel.WEBHOOK.value, endpoint_id)] = 0
            elif threshold > 0 and (failures or 0) >= threshold:
                caps[(Channel.WEBHOOK.value, endpoint_id)] = 1  # half-open: one probe
        leased = Counter(
            {
                (channel, endpoint_id): n
                for channel, endpoint_id, n in db.session.execute(
                    select(Delivery.channel, Delivery.endpoint_id, func.count(Delivery.id))
                    .where(Delivery.status == DeliveryStatus.PENDING.value, Delivery.lease_until >= now)
                    .group_by(Delivery.channel, Delivery.endpoint_id)
                )
            }
        )
        room: dict[Key, int] = {}
        for key in set(caps) | set(leased):
            cap = caps.get(key, per_endpoint)
            if key != EMAIL_KEY:
                cap = min(cap, per_endpoint)
            room[key] = cap - leased.get(key, 0)
        return room

    def claim(self, limit: int | None = None) -> tuple[str, list[int]]:
        """Lease up to `limit` due deliveries (default: this worker's free slots), respecting the
        per-endpoint caps; returns (lease token, ids). Commits."""
        config = current_app.config
        per_endpoint = max(1, int(config["WORKER_PER_ENDPOINT"]))
        if limit is None:
            limit = self._free_slots()
        if limit <= 0:
            return self.name, []
        # Claims are serialised across workers, so the in-flight counts read below are still
        # true when the leases are written: PostgreSQL by an advisory lock held to the commit,
        # SQLite by taking the write lock first (a write statement, even one matching nothing).
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
        elif db.engine.dialect.name == "sqlite":
            db.session.execute(text("UPDATE deliveries SET leased_by = leased_by WHERE id = -1"))
        now = self.clock()
        room = self._room(now)
        blocked = [key for key, n in room.items() if n <= 0]
        where = _due(now)
        for channel, endpoint_id in blocked:
            if channel == Channel.EMAIL.value:
                where &= Delivery.channel != channel
            elif endpoint_id is None:
                where &= ~((Delivery.channel == channel) & Delivery.endpoint_id.is_(None))
            else:
                where &= ~((Delivery.channel == channel) & (Delivery.endpoint_id == endpoint_id))
        widest = max(per_endpoint, int(config["WORKER_BATCH_SIZE"]))
        position = (
            func.row_number()
            .over(
                partition_by=(Delivery.channel, Delivery.endpoint_id),
                order_by=(Delivery.next_attempt_at, Delivery.id),
            )
            .label("position")
        )
        ranked = select(Delivery.id, Delivery.channel, Delivery.endpoint_id, Delivery.next_attempt_at, position).where(
            where
        )
        ranked = ranked.subquery()
        candidates = db.session.execute(
            select(ranked.c.id, ranked.c.channel, ranked.c.endpoint_id)
            .where(ranked.c.position <= widest)
            .order_by(ranked.c.next_attempt_at, ranked.c.id)
            .limit(limit * 2 + widest)
        ).all()
        chosen: list[int] = []
        webhooks_taken = 0
        for delivery_id, channel, endpoint_id in candidates:
            key = (channel, endpoint_id)
            left = room.get(key, per_endpoint)
            if left <= 0:
                continue
            if channel != Channel.EMAIL.value:
                if webhooks_taken >= limit:
                    continue
                webhooks_taken += 1
            room[key] = left - 1
            chosen.append(delivery_id)
        ids: list[int] = []
        if chosen:
            until = now + timedelta(seconds=float(config["WORKER_LEASE_SECONDS"]))
            # Compare-and-set: only rows still due are taken, whoever else is claiming.
            ids = list(
                db.session.scalars(
                    update(Delivery)
                    .where(Delivery.id.in_(chosen), _due(now))
                    .values(lease_until=until, leased_by=self.name)
                    .returning(Delivery.id),
                    execution_options={"synchronize_session": False},
                )
            )
        db.session.commit()
        ids.sort()
        self.stats.claimed += len(ids)
        return self.name, ids

    def _free_slots(self) -> int:
        concurrency = max(1, int(current_app.config["WORKER_CONCURRENCY"]))
        webhooks_out = sum(1 for f in self._flights.values() if f.key != EMAIL_KEY)
        return concurrency - webhooks_out - (1 if self._email_busy() else 0)

    def _email_busy(self) -> bool:
        return any(f.key == EMAIL_KEY for f in self._flights.values())

    def _renew(self) -> None:
        """Extend the leases of everything in flight (one statement for all of them)."""
        lease = float(current_app.config["WORKER_LEASE_SECONDS"])
        until = self.clock() + timedelta(seconds=lease)
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(self._flights)), Delivery.leased_by == self.name)
            .values(lease_until=until),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()
        self._renew_at = time.monotonic() + lease / 3

    def _release(self, ids: list[int]) -> None:
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.leased_by == self.name)
            .values(lease_until=None, leased_by=None),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()

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
            reason = self._cancel_reason(delivery)
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
                prepared = Outcome.retry(f"internal error: {type(exc).__name__}: {str(exc)[:300]}")
            if isinstance(prepared, Outcome):
                settled.append(Result(delivery.id, prepared, started_at))
                continue
            self._submit(self._webhook_job(delivery.id, key, prepared, started_at))
        db.session.rollback()  # end the read; the objects are not used past this point
        for delivery_id, reason in cancelled:
            self._settle(delivery_id, DeliveryStatus.CANCELLED, reason)
            self.stats.cancelled += 1
        if emails:
            self._submit(self._email_job(emails, started_at))
        if settled:
            self._record(settled)
        return len(ids)

    def _submit(self, job: Callable[[], None]) -> None:
        concurrency = max(1, int(current_app.config["WORKER_CONCURRENCY"]))
        while len(self._threads) < concurrency:
            thread = threading.Thread(target=self._sender, name=f"sender-{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._jobs.put(job)

    def _sender(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()

    def _session(self, key: Key) -> requests.Session:
        session = self._sessions.get(key)
        if session is None:
            config = current_app.config
            session = self._sessions[key] = webhooks.session_for(
                bool(config.get("WEBHOOK_ALLOW_PRIVATE_NETWORKS")), int(config["WORKER_PER_ENDPOINT"])
            )
        return session

    def _webhook_job(self, delivery_id: int, key: Key, request: webhooks.Request, started_at: datetime):
        session = self._session(key)
        results = self._results

        def job() -> None:
            try:
                outcome = webhooks.send(request, session)
            except Exception as exc:  # a bug in the channel must not kill the thread or lose the delivery
                outcome = Outcome.retry(f"internal error: {type(exc).__name__}: {str(exc)[:300]}")
            results.put(Result(delivery_id, outcome, started_at))

        return job

    def _email_job(self, ids: list[int], started_at: datetime):
        app, results, stop = self.app, self._results, self._stop

        def job() -> None:
            with app.app_context():
                sender = email.BatchSender()
                began = time.monotonic()
                try:
                    for position, delivery_id in enumerate(ids):
                        if stop.is_set():
                            for rest in ids[position:]:
                                results.put(Result(rest, None))
                            return
                        at = started_at + timedelta(seconds=time.monotonic() - began)
                        delivery = db.session.get(Delivery, delivery_id)
                        try:
                            outcome = email.deliver(delivery, send=sender.send)
                        except Exception as exc:
                            app.logger.exception("delivery %s: the email channel raised", delivery_id)
                            outcome = Outcome.retry(f"internal error: {type(exc).__name__}: {str(exc)[:300]}")
                        db.session.rollback()
                        results.put(Result(delivery_id, outcome, at))
                finally:
                    sender.close()
                    db.session.remove()

        return job

    def collect(self, timeout: float) -> int:
        """Wait up to `timeout` for finished attempts, then record all that are in (one commit)."""
        try:
            first = self._results.get(timeout=timeout)
        except queue.Empty:
            return 0
        done = [first]
        while True:
            try:
                done.append(self._results.get_nowait())
            except queue.Empty:
                break
        handed_back = [r.delivery_id for r in done if r.outcome is None]
        if handed_back:
            self._release(handed_back)
            for delivery_id in handed_back:
                self._flights.pop(delivery_id, None)
        self._record([r for r in done if r.outcome is not None])
        return len(done)

    @staticmethod
    def _cancel_reason(delivery: Delivery) -> str | None:
        if delivery.endpoint_id is None:
            return None if current_app.config.get("WEBHOOK_DELIVERY_URL") else "WEBHOOK_DELIVERY_URL is no longer set"
        if delivery.endpoint is None:
            return "the endpoint was removed"
        if not delivery.endpoint.enabled:
            return "the endpoint is disabled"
        return None

    # ------------------------------------------------------------------------- recording

    def _record(self, results: list[Result]) -> None:
        """Write the attempts and their consequences, with the endpoints' health, in one commit.
        Nobody else changes a row while we hold its lease; a lost lease only loses the status."""
        if not results:
            return
        config = current_app.config
        for tries_left in range(2, -1, -1):
            try:
                now = self.clock()
                counts, moved = self._write_all(config, results, now)
                db.session.commit()
                break
            except OperationalError:
                # A busy database must not drop an outcome: that would send the delivery again.
                db.session.rollback()
                if not tries_left:
                    raise
                time.sleep(0.5)
        for result in results:
            self._flights.pop(result.delivery_id, None)
        for name in ("delivered", "retried", "failed"):
            setattr(self.stats, name, getattr(self.stats, name) + getattr(counts, name))
        if moved != len(results):
            # A lease ran out and another worker took the delivery over; the attempt is still
            # logged, the status is theirs to set.
            lost = len(results) - moved
            current_app.logger.warning("%d deliveries: lease lost before the outcome was recorded", lost)

    def _write_all(self, config: Any, results: list[Result], now: datetime) -> tuple[Stats, int]:
        """The statements for a batch of outcomes: one multi-row INSERT of the attempts and one
        executemany UPDATE per kind of consequence (building a statement per row cost more
        than running it)."""
        counts = Stats()
        attempts: list[dict[str, Any]] = []
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        by_endpoint: dict[int, list[Outcome]] = {}
        for result in results:
            flight = self._flights.get(result.delivery_id)
            outcome = result.outcome
            assert outcome is not None
            number = flight.attempt if flight is not None else 1
            latency = outcome.latency_ms
            if latency is None and flight is not None:
                latency = int((time.monotonic() - flight.started) * 1000)
            values: dict[str, Any] = {"attempts": number, "lease_until": None, "leased_by": None}
            if outcome.kind == OutcomeKind.DELIVERED:
                values.update(status=DeliveryStatus.DELIVERED.value, delivered_at=now, last_error=None)
                counts.delivered += 1
            else:
                delay = retry_delay(config, number) if outcome.kind == OutcomeKind.RETRY else None
                values["last_error"] = outcome.detail[:1000]
                if delay is None:
                    values["status"] = DeliveryStatus.FAILED.value
                    counts.failed += 1
                else:
                    values["next_attempt_at"] = now + timedelta(seconds=delay)
                    counts.retried += 1
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
                    "worker": self.name,
                    "started_at": result.started_at or (flight.started_at if flight else now),
                }
            )
            if flight is not None and flight.key[0] == Channel.WEBHOOK.value and flight.key[1] is not None:
                by_endpoint.setdefault(flight.key[1], []).append(outcome)
        db.session.execute(_ATTEMPTS.insert(), attempts)
        moved = 0
        for shape, rows in by_shape.items():
            statement = (
                _DELIVERIES.update()
                .where(_DELIVERIES.c.id == bindparam("b_id"), _DELIVERIES.c.leased_by == self.name)
                .values({name: bindparam(name) for name in shape})
            )
            moved += db.session.execute(statement, rows).rowcount
        for endpoint_id, outcomes in by_endpoint.items():
            health.record_many(config, endpoint_id, outcomes, now)
        return counts, moved

    def _settle(self, delivery_id: int, status: DeliveryStatus, reason: str) -> None:
        db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.leased_by == self.name)
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
    """SIGTERM / SIGINT: stop claiming, finish what is in flight (up to the grace period), hand
    back the rest."""

    def handler(signum: int, _frame: Any) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
