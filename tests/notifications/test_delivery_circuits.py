"""Issue 13's leftovers: the WEBHOOK_DELIVERY_URL receiver backs off like an endpoint (and tells
admins instead of switching off), `--until-idle` does not wait behind open circuits, and
disabling an endpoint cancels what waits for it at once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db, mail
from app.models import AuditEvent, Notification, utcnow
from app.notifications import endpoints, health
from app.notifications.models import Delivery, ReceiverHealth, WebhookEndpoint
from app.notifications.worker import Worker
from tests.conftest import create_user
from tests.notifications.test_delivery_scale import BASE, Clock, add_endpoint, emit, endpoint_row, statuses
from tests.webhook_receiver import WebhookReceiver

CIRCUIT = {
    "WEBHOOK_RETRY_DELAYS": [0],
    "WEBHOOK_MAX_RETRIES": 50,
    "WEBHOOK_CIRCUIT_THRESHOLD": 3,
    "WEBHOOK_CIRCUIT_BASE_SECONDS": 60,
    "WEBHOOK_CIRCUIT_MAX_SECONDS": 3600,
}


@pytest.fixture
def receivers():
    made: list[WebhookReceiver] = []

    def make() -> WebhookReceiver:
        made.append(WebhookReceiver())
        return made[-1]

    yield make
    for r in made:
        r.stop()


def app_with(make_app, layer: dict, **overrides):
    return make_app(**{**BASE, **layer, **overrides})


def receiver_row(app) -> ReceiverHealth | None:
    db.session.rollback()
    return health.receiver_health(app.config)


# ----------------------------------------------------------------------------- the configured receiver


def test_configured_receiver_circuit_opens_and_half_opens_with_one_probe(make_app, receivers):
    dead = receivers()
    dead.behaviour.default_status = 500
    clock = Clock()
    app = app_with(make_app, CIRCUIT, WORKER_PER_ENDPOINT=2, WEBHOOK_DELIVERY_URL=dead.url)
    with app.app_context():
        emit(6)
        worker = Worker(app, clock=clock)
        assert worker.run_once() == 2
        assert worker.run_once() == 2
        row = receiver_row(app)
        assert row.url == dead.url and row.consecutive_failures == 4
        assert row.circuit_open_until == clock.now + timedelta(seconds=120)
        assert worker.run_once() == 0  # open: nothing goes out
        clock.advance(seconds=121)
        assert worker.run_once() == 1  # half-open: exactly one probe
        assert len(dead.received) == 5
        assert receiver_row(app).circuit_open_until == clock.now + timedelta(seconds=240)

        clock.advance(seconds=241)
        dead.behaviour.default_status = 200
        assert worker.run_once() == 1  # the probe succeeds and closes the circuit
        row = receiver_row(app)
        assert (row.consecutive_failures, row.failing_since, row.circuit_open_until) == (0, None, None)
        assert worker.run_once() == 2
        assert db.session.scalar(select(func.max(Delivery.attempts))) <= 4  # retries kept while open


def test_another_configured_url_starts_afresh(make_app, receivers):
    dead, other = receivers(), receivers()
    dead.behaviour.default_status = 500
    clock = Clock()
    app = app_with(make_app, CIRCUIT, WEBHOOK_DELIVERY_URL=dead.url)
    with app.app_context():
        emit(3)
        Worker(app, clock=clock).run_once()
        assert receiver_row(app).circuit_open_until is not None
    moved = app_with(make_app, CIRCUIT, WEBHOOK_DELIVERY_URL=other.url)
    with moved.app_context():
        assert health.receiver_health(moved.config) is None
        assert Worker(moved, clock=clock).run_once() == 3  # no circuit held against the new URL
        assert len(other.received) == 3


def test_configured_receiver_failing_for_the_period_is_not_switched_off_and_admins_are_told_once(make_app, receivers):
    dead = receivers()
    dead.behaviour.default_status = 503
    clock = Clock()
    app = app_with(
        make_app,
        {},
        WEBHOOK_DELIVERY_URL=dead.url,
        WEBHOOK_RETRY_DELAYS=[3600],
        WEBHOOK_MAX_RETRIES=1000,
        WEBHOOK_CIRCUIT_THRESHOLD=0,  # only the period matters here
        NOTIFICATIONS_EMAIL_ENABLED=True,
        PUBLIC_BASE_URL="https://leaderboards.example.com",
    )
    admin_id = create_user(app, "admin@example.com", "password-123456", admin=True)
    with app.app_context():
        emit(1)
        worker = Worker(app, clock=clock)
        worker.run_once()
        assert receiver_row(app).failing_since == clock.now
        clock.advance(days=3, seconds=1)
        worker.run_once()
        assert len(dead.received) == 2
        items = db.session.scalars(select(Notification)).all()
        assert [(n.user_id, n.event, n.url) for n in items] == [
            (admin_id, "webhook.receiver_failing", "/staff/webhooks/default/")
        ]
        assert dead.url in items[0].title and "not switched off" in items[0].body
        with mail.record_messages() as sent:
            worker.run_once()  # the admin's email goes out
        assert [m.recipients for m in sent] == [["admin@example.com"]]
        assert "failing" in sent[0].subject

        clock.advance(hours=1)
        worker.run_once()  # tried again (never switched off) and still failing: nobody is told twice
        assert len(dead.received) == 3
        assert statuses() == ["pending", "delivered"]
        assert db.session.scalar(select(func.count(Notification.id))) == 1

        dead.behaviour.default_status = 200
        clock.advance(hours=1)
        worker.run_once()
        row = receiver_row(app)
        assert (row.consecutive_failures, row.failing_since, row.alerted_at) == (0, None, None)  # re-armed


def test_configured_receiver_answering_410_tells_admins_at_once(make_app, receivers):
    gone = receivers()
    gone.behaviour.default_status = 410
    app = app_with(make_app, {}, WEBHOOK_DELIVERY_URL=gone.url)
    create_user(app, "admin@example.com", "password-123456", admin=True)
    with app.app_context():
        emit(1)
        Worker(app).run_once()
        assert statuses() == ["failed"]
        [item] = db.session.scalars(select(Notification)).all()
        assert item.event == "webhook.receiver_failing" and "410 Gone" in item.body


def test_worker_tells_admins_of_a_receiver_dead_for_the_period_with_nothing_to_send(make_app, receivers):
    dead = receivers()
    clock = Clock()
    app = app_with(make_app, {}, WEBHOOK_DELIVERY_URL=dead.url)
    create_user(app, "admin@example.com", "password-123456", admin=True)
    with app.app_context():
        db.session.add(
            ReceiverHealth(
                url_hash=health.receiver_key(dead.url),
                url=dead.url,
                consecutive_failures=9,
                failing_since=clock.now - timedelta(days=3, seconds=1),
            )
        )
        db.session.commit()
    Worker(app, clock=clock).run(until_idle=True)
    Worker(app, clock=clock).run(until_idle=True)  # a second round does not tell them again
    with app.app_context():
        assert db.session.scalars(select(Notification.event)).all() == ["webhook.receiver_failing"]


def test_retry_failed_for_the_configured_receiver_clears_its_circuit(make_app, receivers):
    r = receivers()
    r.behaviour.default_status = 500
    clock = Clock()
    app = app_with(make_app, CIRCUIT, WEBHOOK_MAX_RETRIES=0, WEBHOOK_DELIVERY_URL=r.url)
    with app.app_context():
        emit(3)
        Worker(app, clock=clock).run_once()
        assert statuses() == ["failed"] * 3 and receiver_row(app).circuit_open_until is not None
        r.behaviour.default_status = 200
        assert endpoints.retry_failed(None, "2000-01-01", None) == 3
        assert receiver_row(app).circuit_open_until is None
        assert Worker(app, clock=clock).run_once() == 3
        assert statuses() == ["delivered"] * 3


# ----------------------------------------------------------------------------- until idle


def test_until_idle_does_not_wait_behind_an_open_circuit_and_says_so(make_app, receivers):
    dead = receivers()
    dead.behaviour.default_status = 500
    app = app_with(
        make_app,
        CIRCUIT,
        WEBHOOK_DELIVERY_URL=dead.url,
        WEBHOOK_CIRCUIT_BASE_SECONDS=3600,
    )
    with app.app_context():
        endpoint_id, _ = add_endpoint(dead.url)
        emit(4)
    began = time.monotonic()
    result = app.test_cli_runner().invoke(args=["worker", "--until-idle"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - began < 15  # not the circuit's hour
    # Four events, each to the endpoint and to the configured receiver: 3 failures open each circuit.
    assert "8 deliveries wait behind an open circuit" in result.output
    with app.app_context():
        assert statuses() == ["pending"] * 8
        assert endpoint_row(endpoint_id).circuit_open_until is not None
        assert receiver_row(app).circuit_open_until is not None


def test_until_idle_still_waits_for_a_retry_due_soon_behind_a_closed_circuit(make_app, receivers):
    r = receivers()
    r.behaviour.statuses = [500, 500]
    app = app_with(make_app, CIRCUIT, WEBHOOK_DELIVERY_URL=r.url, WEBHOOK_RETRY_DELAYS=[0.3])
    with app.app_context():
        [event_id] = emit(1)
    stats = Worker(app).run(until_idle=True)
    assert stats.delivered == 1 and r.event_ids() == [event_id] * 3


# ----------------------------------------------------------------------------- disabling cancels at once


def test_an_admin_disabling_an_endpoint_cancels_its_pending_deliveries_at_once(make_app, receivers):
    r = receivers()
    app = app_with(make_app, {})
    with app.app_context():
        endpoint_id, _ = add_endpoint(r.url)
        other_id, _ = add_endpoint(r.url + "?other")
        emit(3)
        db.session.execute(
            update(Delivery).where(Delivery.endpoint_id == endpoint_id).values(next_attempt_at=func.now(), attempts=1)
        )
        db.session.commit()
        endpoints.set_enabled(endpoint_id, False, None)
        # No worker has run: the rows are cancelled by the disabling itself, not when they come due.
        assert statuses(endpoint_id) == ["cancelled"] * 3
        assert statuses(other_id) == ["pending"] * 3
        after = db.session.scalars(
            select(AuditEvent.after).where(AuditEvent.action == "webhook.endpoint_disabled")
        ).one()
        assert after["cancelled_deliveries"] == 3
        # Enabled again, "retry failed since" brings back what was cancelled.
        endpoints.set_enabled(endpoint_id, True, None)
        assert endpoints.retry_failed(endpoint_id, "2000-01-01", None) == 3
        Worker(app).run_once()
        assert statuses(endpoint_id) == ["delivered"] * 3


def test_auto_disable_cancels_the_pending_deliveries_in_the_same_step(make_app, receivers):
    dead = receivers()
    dead.behaviour.default_status = 503
    clock = Clock()
    app = app_with(make_app, {}, WEBHOOK_RETRY_DELAYS=[3600], WEBHOOK_MAX_RETRIES=1000, WEBHOOK_CIRCUIT_THRESHOLD=0)
    with app.app_context():
        endpoint_id, _ = add_endpoint(dead.url)
        emit(1)
        worker = Worker(app, clock=clock)
        worker.run_once()
        emit(2)  # not tried yet when the endpoint goes
        db.session.execute(update(WebhookEndpoint).values(failing_since=clock.now - timedelta(days=4)))
        db.session.commit()
        health.disable_dead_endpoints(app.config, clock.now)
        db.session.commit()
        assert endpoint_row(endpoint_id).enabled is False
        assert statuses(endpoint_id) == ["cancelled"] * 3
        reasons = set(db.session.scalars(select(Delivery.last_error).where(Delivery.endpoint_id == endpoint_id)))
        assert reasons == {"the endpoint is disabled"}


def test_a_delivery_in_flight_when_its_endpoint_is_disabled_is_recorded_as_what_happened(make_app, receivers):
    slow = receivers()
    slow.behaviour.stall_seconds = 1.0
    app = app_with(make_app, {})
    with app.app_context():
        endpoint_id, _ = add_endpoint(slow.url)
        emit(1)
        worker = Worker(app)
        assert worker.fill() == 1  # on its way
        endpoints.set_enabled(endpoint_id, False, None)
        assert statuses(endpoint_id) == ["cancelled"]
        while worker._flights:
            worker.collect(timeout=2)
        assert statuses(endpoint_id) == ["delivered"]  # it did arrive
        assert len(slow.received) == 1


# ----------------------------------------------------------------------------- clocks


def test_a_delivery_written_by_a_host_whose_clock_runs_fast_is_still_due_at_once(make_app, receivers):
    """Due times are the database's: a web host an hour ahead (its timestamps on the new rows)
    must not hold its events back, and a host behind must not make a retry early."""
    r = receivers()
    app = app_with(make_app, {}, WEBHOOK_DELIVERY_URL=r.url)
    with app.app_context():
        [event_id] = emit(1)
        db.session.execute(update(Delivery).values(next_attempt_at=utcnow() + timedelta(hours=1)))
        db.session.commit()
        assert Worker(app).run_once() == 1
        assert r.event_ids() == [event_id]
