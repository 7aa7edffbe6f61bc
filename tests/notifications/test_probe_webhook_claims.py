"""Issue 27, item 1: the WEBHOOK_DELIVERY_URL receiver keeps being served while portal endpoints
are limited. Its deliveries have `endpoint_id` NULL, and the claim's exclusion of a limited
endpoint used to be `NOT (channel = 'webhook' AND endpoint_id = k)`: NULL for those rows, so they
dropped out of every claim while any endpoint's circuit was open or any endpoint was at its cap.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.notifications import leases
from app.notifications.models import Delivery, WebhookEndpoint
from app.notifications.worker import Worker
from tests.notifications.test_delivery_circuits import CIRCUIT, app_with, receivers  # noqa: F401  (fixture)
from tests.notifications.test_delivery_scale import Clock, add_endpoint, emit


def _limit_endpoints(clock: Clock, dead_id: int, busy_id: int, cap: int) -> None:
    """The dead endpoint's circuit open for a minute; `cap` of the busy endpoint's deliveries
    leased by another worker (its cap used up)."""
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == dead_id)
        .values(consecutive_failures=5, failing_since=clock.now, circuit_open_until=clock.now + timedelta(minutes=1))
    )
    query = select(Delivery.id).where(Delivery.endpoint_id == busy_id).order_by(Delivery.id).limit(cap)
    held = db.session.scalars(query)
    db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(held)))
        .values(leased_by="another-worker", lease_until=clock.now + timedelta(minutes=1))
    )
    db.session.commit()


def test_receiver_is_served_within_its_cap_while_one_endpoint_is_dead_and_another_full(make_app, receivers):  # noqa: F811
    dead, busy, receiver = receivers(), receivers(), receivers()
    clock = Clock()
    app = app_with(make_app, CIRCUIT, WORKER_PER_ENDPOINT=2, WORKER_CONCURRENCY=8, WEBHOOK_DELIVERY_URL=receiver.url)
    with app.app_context():
        dead_id, _ = add_endpoint(dead.url)
        busy_id, _ = add_endpoint(busy.url)
        ids = emit(5)
        _limit_endpoints(clock, dead_id, busy_id, cap=2)
        worker = Worker(app, clock=clock)
        assert worker.run_once() == 2  # the receiver's own cap, nothing of the two limited endpoints
        assert len(receiver.received) == 2
        assert dead.received == [] and busy.received == []
        assert worker.run_once() == 2
        assert worker.run_once() == 1
        assert sorted(receiver.event_ids()) == sorted(ids)
        assert dead.received == [] and busy.received == []
        # The endpoints' limits held throughout: once the other worker's leases run out and the
        # circuit half-opens, they are served too (one probe for the dead one).
        clock.advance(minutes=2)
        assert worker.run_once() == 2 + 1


def test_a_full_receiver_does_not_hold_back_endpoints_and_email_rows_stay_claimable(make_app, receivers):  # noqa: F811
    """The other direction of the same exclusions: the receiver at its cap excludes only its own
    rows, never an endpoint's; every exclusion is TRUE or FALSE for every row, never NULL."""
    endpoint, receiver = receivers(), receivers()
    clock = Clock()
    app = app_with(make_app, CIRCUIT, WORKER_PER_ENDPOINT=2, WEBHOOK_DELIVERY_URL=receiver.url)
    with app.app_context():
        endpoint_id, _ = add_endpoint(endpoint.url)
        emit(3)
        held = db.session.scalars(select(Delivery.id).where(Delivery.endpoint_id.is_(None)).limit(2))
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(held)))
            .values(leased_by="another-worker", lease_until=clock.now + timedelta(minutes=1))
        )
        db.session.commit()
        taken = leases.claim(app.config, "probe", clock, 10, email_busy=True)
        rows = db.session.execute(select(Delivery.id, Delivery.endpoint_id).where(Delivery.id.in_(taken))).all()
        assert {e for _, e in rows} == {endpoint_id} and len(rows) == 2
