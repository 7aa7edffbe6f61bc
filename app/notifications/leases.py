"""Leases: which worker holds which delivery, and how many each destination may have out.

Rules:
- A claim is a lease: `lease_until` and the worker's name in `leased_by`, set by one
  compare-and-set UPDATE that only matches rows still due, so two workers can never both take a
  row. A row is due when it is pending, never tried or past its `next_attempt_at`, and not held
  by a live lease. A new delivery is due at once whatever its timestamp says.
- Each destination (a webhook endpoint, the WEBHOOK_DELIVERY_URL receiver, email) has at most
  WORKER_PER_ENDPOINT deliveries leased at once, counting EVERY worker's live leases, fewer when
  its circuit says so (`health.limits`: none while open, one probe while half-open), so a slow or
  dead endpoint holds only its own slots. Email is claimed as one batch of up to
  WORKER_BATCH_SIZE while this worker has no email batch out.
- Claims are serialised across workers (an advisory lock on PostgreSQL held to the commit, the
  write lock on SQLite), so the in-flight counts a claim reads are still true when its leases
  are written: workers cannot together overshoot a cap.
- Times come from the DATABASE's clock (`clock.db_now`, read after the lock is taken), never the
  host's: hosts with skewed clocks cannot take over each other's live leases.
- The holder renews its leases while the deliveries are in flight, and hands back (releases)
  what it will not finish; a worker that dies just lets its leases run out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text, update

from app.extensions import db
from app.notifications import health
from app.notifications.models import Channel, Delivery, DeliveryStatus

# A key per destination: ("webhook", endpoint id or None for WEBHOOK_DELIVERY_URL), ("email", None).
Key = tuple[str, int | None]
EMAIL_KEY: Key = (Channel.EMAIL.value, None)
# Any constant will do: every worker must use the same one for its claims.
_CLAIM_LOCK = 0x0DE17AC0


def due(now: datetime) -> Any:
    """The rows a claim may take at `now` (database time)."""
    return (
        (Delivery.status == DeliveryStatus.PENDING.value)
        & ((Delivery.attempts == 0) | (Delivery.next_attempt_at <= now))
        & or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)
    )


def room(config: Any, now: datetime, *, email_busy: bool) -> dict[Key, int]:
    """How many more deliveries each destination may have in flight, for destinations that
    are limited below the usual cap (full, half-open, circuit open); others: the usual cap."""
    per_endpoint = max(1, int(config["WORKER_PER_ENDPOINT"]))
    caps: dict[Key, int] = {EMAIL_KEY: 0 if email_busy else max(1, int(config["WORKER_BATCH_SIZE"]))}
    for endpoint_id, cap in health.limits(config, now).items():
        caps[(Channel.WEBHOOK.value, endpoint_id)] = cap
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
    free: dict[Key, int] = {}
    for key in set(caps) | set(leased):
        cap = caps.get(key, per_endpoint)
        if key != EMAIL_KEY:
            cap = min(cap, per_endpoint)
        free[key] = cap - leased.get(key, 0)
    return free


def claim(config: Any, holder: str, clock: Callable[[], datetime], limit: int, *, email_busy: bool) -> list[int]:
    """Lease up to `limit` due webhook deliveries (and, when `email_busy` is false, a batch of
    emails) to `holder`, respecting every destination's room; the ids taken, sorted. Commits."""
    if limit <= 0:
        return []
    per_endpoint = max(1, int(config["WORKER_PER_ENDPOINT"]))
    # Serialise claims (see the module's rules): a write statement, even one matching nothing,
    # takes SQLite's write lock.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
    elif db.engine.dialect.name == "sqlite":
        db.session.execute(text("UPDATE deliveries SET leased_by = leased_by WHERE id = -1"))
    now = clock()
    free = room(config, now, email_busy=email_busy)
    where = due(now)
    for channel, endpoint_id in (key for key, n in free.items() if n <= 0):
        # Each exclusion is written so it is TRUE or FALSE for every row, never NULL: a negated
        # `endpoint_id == k` is NULL for the receiver's rows (endpoint_id NULL), and a NULL
        # WHERE drops the row, so one full or open endpoint used to starve the receiver.
        if channel == Channel.EMAIL.value:
            where &= Delivery.channel != channel
        elif endpoint_id is None:
            where &= (Delivery.channel != channel) | Delivery.endpoint_id.is_not(None)
        else:
            other = Delivery.endpoint_id.is_(None) | (Delivery.endpoint_id != endpoint_id)
            where &= (Delivery.channel != channel) | other
    # The oldest few of each destination, so one destination's backlog cannot crowd out the rest.
    widest = max(per_endpoint, int(config["WORKER_BATCH_SIZE"]))
    position = (
        func.row_number()
        .over(partition_by=(Delivery.channel, Delivery.endpoint_id), order_by=(Delivery.next_attempt_at, Delivery.id))
        .label("position")
    )
    ranked = (
        select(Delivery.id, Delivery.channel, Delivery.endpoint_id, Delivery.next_attempt_at, position)
        .where(where)
        .subquery()
    )
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
        left = free.get(key, per_endpoint)
        if left <= 0:
            continue
        if channel != Channel.EMAIL.value:
            if webhooks_taken >= limit:
                continue
            webhooks_taken += 1
        free[key] = left - 1
        chosen.append(delivery_id)
    ids: list[int] = []
    if chosen:
        until = now + timedelta(seconds=float(config["WORKER_LEASE_SECONDS"]))
        # Compare-and-set: only rows still due are taken, whoever else is claiming.
        ids = list(
            db.session.scalars(
                update(Delivery)
                .where(Delivery.id.in_(chosen), due(now))
                .values(lease_until=until, leased_by=holder)
                .returning(Delivery.id),
                execution_options={"synchronize_session": False},
            )
        )
    db.session.commit()
    return sorted(ids)


def renew(holder: str, ids: list[int], until: datetime) -> None:
    """Extend the holder's leases on `ids` (one statement for all of them). Commits."""
    db.session.execute(
        update(Delivery).where(Delivery.id.in_(ids), Delivery.leased_by == holder).values(lease_until=until),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def release(holder: str, ids: list[int]) -> None:
    """Hand the holder's leases on `ids` back: due again at once for any worker. Commits."""
    db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.leased_by == holder)
        .values(lease_until=None, leased_by=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def settle(holder: str, delivery_id: int, status: DeliveryStatus, reason: str) -> None:
    """End a leased delivery without an attempt (e.g. cancelled), releasing it. Commits."""
    db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.leased_by == holder)
        .values(status=status.value, last_error=reason, lease_until=None, leased_by=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
