"""The delivery worker: the CLI, leases, both channels, and the fault tests (a worker process
killed mid-delivery, a receiver that goes down and comes back, concurrent workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

import tests
import tests.factories as f
from app.extensions import db
from app.models import User
from app.notifications import outbox
from app.notifications.models import Delivery, DeliveryAttempt, OutboxEvent
from app.notifications.outcome import Outcome
from app.notifications.recording import retry_delay
from app.notifications.worker import Worker
from tests.webhook_receiver import WebhookReceiver

ROOT = Path(tests.ROOT)
FLASK = str(Path(sys.executable).with_name("flask"))


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.stop()


SETTINGS = {
    "NOTIFICATIONS_WEBHOOK_ENABLED": True,
    "WEBHOOK_SECRET_KEY": "worker-test-secret",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True,
    "WEBHOOK_RETRY_DELAYS": [0.1, 0.2, 0.3],
    "WEBHOOK_MAX_RETRIES": 20,
    "WEBHOOK_TIMEOUT": 10,
    "WEBHOOK_CONNECT_TIMEOUT": 1,
    "WORKER_POLL_INTERVAL": 0.05,
    "WORKER_LEASE_SECONDS": 2.0,
}


@pytest.fixture
def app(make_app, receiver):
    return make_app(**SETTINGS, WEBHOOK_DELIVERY_URL=receiver.url)


def emit(count: int) -> list[str]:
    t = db.session.scalar(select(f.Tournament).limit(1)) or f.br_tournament()
    ids = [
        outbox.emit("leaderboard.updated", tournament_id=t.id, data=outbox.leaderboard_data(t), subject=t).event_id
        for _ in range(count)
    ]
    db.session.commit()
    return ids


def worker_env(app, receiver_url: str, **extra) -> dict[str, str]:
    """The environment a `flask --app wsgi worker` process needs to work on the test database."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}).get("connect_args", {}).get("options")
    if uri.startswith("postgresql") and options:
        uri += ("&" if "?" in uri else "?") + "options=" + quote(options)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "WORKER_", "NOTIFICATIONS_"))}
    settings = {**SETTINGS, "WEBHOOK_DELIVERY_URL": receiver_url, **extra}
    env.update({k: ",".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in settings.items()})
    env.update(DATABASE_URL=uri, SECRET_KEY="worker-process-secret-key", FLASK_DEBUG="0")
    return env


def start_worker(app, receiver_url: str, *args: str, **extra) -> subprocess.Popen:
    return subprocess.Popen(
        [FLASK, "--app", "wsgi", "worker", *args],
        cwd=ROOT,
        env=worker_env(app, receiver_url, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def statuses() -> list[str]:
    db.session.rollback()  # see what other connections committed
    return list(db.session.scalars(select(Delivery.status).order_by(Delivery.id)))


def wait_for(predicate, timeout: float = 30.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError("timed out waiting")


# ----------------------------------------------------------------------------- basics


def test_retry_schedule_repeats_the_last_delay_and_stops():
    config = {"WEBHOOK_MAX_RETRIES": 4, "WEBHOOK_RETRY_DELAYS": [1, 5, 25]}
    assert [retry_delay(config, n) for n in range(1, 6)] == [1, 5, 25, 25, None]
    assert retry_delay({"WEBHOOK_MAX_RETRIES": 0, "WEBHOOK_RETRY_DELAYS": [1]}, 1) is None


def test_cli_until_idle_delivers_and_exits(app, receiver):
    with app.app_context():
        ids = emit(3)
    result = app.test_cli_runner().invoke(args=["worker", "--until-idle"])
    assert result.exit_code == 0, result.output
    assert "3 delivered" in result.output
    assert sorted(receiver.event_ids()) == sorted(ids)


def test_until_idle_waits_for_scheduled_retries(app, receiver):
    receiver.behaviour.statuses = [500]
    with app.app_context():
        [event_id] = emit(1)
    Worker(app).run(until_idle=True)
    assert receiver.event_ids() == [event_id, event_id]


def test_a_lease_keeps_others_off_until_it_expires(make_app, receiver):
    app = make_app(**{**SETTINGS, "WORKER_LEASE_SECONDS": 0.5}, WEBHOOK_DELIVERY_URL=receiver.url)
    with app.app_context():
        emit(2)
        first = Worker(app, name="first")
        _token, claimed = first.claim()  # claimed, then "dies" without sending
        assert len(claimed) == 2
        second = Worker(app, name="second")
        assert second.claim()[1] == []  # leased: not due for anyone else
        time.sleep(0.6)
        assert sorted(second.claim()[1]) == sorted(claimed)  # the lease ran out: taken over


def test_email_deliveries_go_to_the_email_channel(app, monkeypatch):
    email = pytest.importorskip("app.notifications.email")
    seen = []

    def fake_deliver(delivery, send=None):
        seen.append(delivery.user_id)
        return Outcome.give_up("550 mailbox unavailable", status_code=550) if len(seen) == 1 else Outcome.delivered()

    monkeypatch.setattr(email, "deliver", fake_deliver)
    with app.app_context():
        user = User(email="p@example.com", display_name="p")
        db.session.add(user)
        t = f.br_tournament()
        event = outbox.emit("leaderboard.updated", tournament_id=t.id, data=outbox.leaderboard_data(t))
        db.session.flush()
        db.session.execute(update(Delivery).values(status="cancelled"))  # only the two below
        for _ in range(2):
            db.session.add(Delivery(outbox_event_id=event.id, channel="email", user_id=user.id))
        db.session.commit()
    Worker(app).run(until_idle=True)
    with app.app_context():
        rows = db.session.execute(
            select(Delivery.status, Delivery.attempts).where(Delivery.channel == "email").order_by(Delivery.id)
        ).all()
        assert [tuple(r) for r in rows] == [("failed", 1), ("delivered", 1)]  # a permanent rejection is not retried
    assert len(seen) == 2


def test_a_channel_that_raises_is_retried_and_the_worker_goes_on(app, receiver, monkeypatch):
    from app.notifications import webhooks

    real = webhooks.send
    calls = []

    def flaky(request, session):
        calls.append(request.url)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(request, session)

    monkeypatch.setattr(webhooks, "send", flaky)
    with app.app_context():
        ids = emit(2)
    Worker(app).run(until_idle=True)
    assert sorted(receiver.unique_event_ids()) == sorted(ids)
    with app.app_context():
        first = db.session.scalar(select(DeliveryAttempt).order_by(DeliveryAttempt.id))
        assert first.outcome == "retry" and "RuntimeError: boom" in first.detail


# ----------------------------------------------------------------------------- faults


@pytest.mark.slow
def test_worker_process_killed_mid_delivery_loses_nothing(app, receiver):
    receiver.behaviour.stall_seconds = 30
    receiver.behaviour.stall_count = 1
    with app.app_context():
        ids = emit(5)
    doomed = start_worker(app, receiver.url, WEBHOOK_TIMEOUT=3)
    try:
        assert receiver.stalled.wait(30), "the worker never reached the receiver"
        doomed.send_signal(signal.SIGKILL)  # no clean-up of any kind
    finally:
        if doomed.poll() is None:
            doomed.kill()
        doomed.communicate(timeout=10)
    with app.app_context():
        # The hung delivery was never recorded as sent; the others, sent alongside it, may have been.
        killed_with = statuses()
        assert "pending" in killed_with and set(killed_with) <= {"pending", "delivered"}
    survivor = start_worker(app, receiver.url, "--until-idle", WEBHOOK_TIMEOUT=3)
    out, err = survivor.communicate(timeout=60)
    assert survivor.returncode == 0, err
    assert receiver.unique_event_ids() == set(ids)  # every event arrived
    first = receiver.event_ids()[0]
    assert receiver.event_ids().count(first) == 2  # the interrupted one again (at least once; dedupe)
    with app.app_context():
        assert statuses() == ["delivered"] * 5


@pytest.mark.slow
def test_receiver_down_and_back_with_a_running_worker(app, receiver):
    port = receiver.port
    receiver.stop()
    running = start_worker(app, receiver.url)
    back = None
    try:
        with app.app_context():
            ids = emit(4)

            def failed_attempts() -> int:
                db.session.rollback()
                return db.session.scalar(select(db.func.count(DeliveryAttempt.id))) or 0

            wait_for(lambda: failed_attempts() >= 4)
            assert all(s == "pending" for s in statuses())
            back = WebhookReceiver(port=port)
            wait_for(lambda: statuses() == ["delivered"] * 4)
        running.send_signal(signal.SIGTERM)  # finishes what it holds, then exits cleanly
        _out, err = running.communicate(timeout=30)
        assert running.returncode == 0, err
        assert "4 delivered" in err
        assert sorted(back.event_ids()) == sorted(ids)  # each exactly once
    finally:
        if running.poll() is None:
            running.kill()
        if back is not None:
            back.stop()


def test_concurrent_workers_never_send_twice(app, receiver):
    """Four workers draining one outbox at once: every event exactly once (SKIP LOCKED on
    PostgreSQL, the compare-and-set claim on SQLite)."""
    with app.app_context():
        ids = emit(120)
    app.config["WORKER_BATCH_SIZE"] = 5
    # Each answer takes 50 ms, so one worker cannot drain all 120 before the others have started
    # (on a loaded machine the first thread once took everything and the share check failed).
    receiver.behaviour.stall_seconds = 0.05
    workers = [Worker(app, name=f"w{i}") for i in range(4)]
    threads = [threading.Thread(target=w.run, kwargs={"until_idle": True}) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(receiver.event_ids()) == sorted(ids)
    assert sum(w.stats.delivered for w in workers) == 120
    assert sum(1 for w in workers if w.stats.delivered) >= 2  # the work really was shared
    with app.app_context():
        assert db.session.scalar(select(db.func.count(DeliveryAttempt.id))) == 120


@pytest.mark.slow
def test_concurrent_worker_processes_never_send_twice(app, receiver):
    with app.app_context():
        ids = emit(60)
    procs = [start_worker(app, receiver.url, "--until-idle", WORKER_BATCH_SIZE=3) for _ in range(2)]
    for proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert sorted(receiver.event_ids()) == sorted(ids)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(OutboxEvent.id))) == 60
        assert statuses() == ["delivered"] * 60


def test_worker_survives_a_database_outage(app, receiver, monkeypatch):
    """A lost database connection is waited out (with back-off), not a crash: the events are
    still in the outbox when it comes back."""
    from sqlalchemy.exc import OperationalError

    with app.app_context():
        ids = emit(2)
    worker = Worker(app)
    real = worker.fill
    failures = []

    def flaky_fill():
        if len(failures) < 2:
            failures.append(1)
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        return real()

    monkeypatch.setattr(worker, "fill", flaky_fill)
    worker.run(until_idle=True)
    assert len(failures) == 2
    assert sorted(receiver.event_ids()) == sorted(ids)


def test_stopping_finishes_what_is_in_flight_and_hands_back_the_rest(make_app, receiver):
    """SIGTERM (stop): no more claims; what is in flight finishes within the grace period and is
    recorded; what cannot finish in time is handed back at once (lease released), so another
    worker need not wait for the lease to run out."""
    app = make_app(**SETTINGS, WEBHOOK_DELIVERY_URL=receiver.url, WORKER_PER_ENDPOINT=2, WORKER_SHUTDOWN_GRACE=0.5)
    receiver.behaviour.stall_seconds = 2.0
    receiver.behaviour.stall_count = 1  # the first request hangs past the grace period
    with app.app_context():
        emit(2)
    worker = Worker(app, name="stopping")
    thread = threading.Thread(target=worker.run)
    thread.start()
    assert receiver.stalled.wait(10)
    wait_for(lambda: len(receiver.received) >= 2)  # the second one, answered at once
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()
    with app.app_context():
        rows = db.session.execute(select(Delivery.status, Delivery.leased_by).order_by(Delivery.id)).all()
        statuses_ = sorted(tuple(r) for r in rows)
        # One delivered and recorded, the hung one handed back (no lease left on it).
        assert statuses_ == [("delivered", None), ("pending", None)]
        assert worker.stats.delivered == 1
        assert len(Worker(app, name="next").claim()[1]) == 1  # due for others straight away
