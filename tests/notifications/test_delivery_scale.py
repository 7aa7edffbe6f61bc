"""Delivery at scale (issue 13): concurrent and fair sending, per-endpoint caps, the circuit,
switching off dead endpoints, pruning, secrets encrypted at rest, and signatures over the raw
UTF-8 body."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text, update
from standardwebhooks import Webhook

import tests.factories as f
from app.extensions import db
from app.models import AuditEvent, Notification
from app.notifications import endpoints, health, outbox
from app.notifications.models import Delivery, DeliveryAttempt, OutboxEvent, WebhookEndpoint
from app.notifications.worker import Worker
from tests.conftest import create_user
from tests.notifications.test_worker import start_worker, wait_for
from tests.webhook_receiver import WebhookReceiver

# Web app and worker processes must share the keys that open the endpoint secrets.
KEYS = Fernet.generate_key().decode()
BASE = {
    "WEBHOOK_SECRET_KEYS": KEYS,
    "NOTIFICATIONS_WEBHOOK_ENABLED": True,
    "WEBHOOK_SECRET_KEY": "scale-test-secret",
    "WEBHOOK_DELIVERY_URL": "",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True,
    "WEBHOOK_RETRY_DELAYS": [0.1],
    "WEBHOOK_MAX_RETRIES": 20,
    "WEBHOOK_TIMEOUT": 5,
    "WEBHOOK_CONNECT_TIMEOUT": 1,
    "WORKER_POLL_INTERVAL": 0.02,
    "WORKER_SHUTDOWN_GRACE": 0.5,
}


def app_with(make_app, **overrides):
    return make_app(**{**BASE, **overrides})


class Clock:
    """A database clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def receivers():
    made: list[WebhookReceiver] = []

    def make() -> WebhookReceiver:
        made.append(WebhookReceiver())
        return made[-1]

    yield make
    for r in made:
        r.stop()


def add_endpoint(url: str) -> tuple[int, str]:
    endpoint, secret = endpoints.create_endpoint(url, "", [], None)
    return endpoint.id, secret


def emit(count: int, tournament_name: str | None = None) -> list[str]:
    t = db.session.scalar(select(f.Tournament).limit(1)) or f.br_tournament()
    if tournament_name:
        t.name = tournament_name
    ids = [
        outbox.emit("tournament.completed", tournament_id=t.id, data=outbox.tournament_data(t)).event_id
        for _ in range(count)
    ]
    db.session.commit()
    return ids


def endpoint_row(endpoint_id: int) -> WebhookEndpoint:
    db.session.rollback()
    return db.session.get(WebhookEndpoint, endpoint_id, populate_existing=True)


def statuses(endpoint_id: int | None = None) -> list[str]:
    db.session.rollback()
    query = select(Delivery.status).order_by(Delivery.id)
    if endpoint_id is not None:
        query = query.where(Delivery.endpoint_id == endpoint_id)
    return list(db.session.scalars(query))


# ----------------------------------------------------------------------------- concurrency and fairness


def test_per_endpoint_cap_is_respected_while_sending_concurrently(make_app, receivers):
    slow = receivers()
    slow.behaviour.stall_seconds = 0.3
    app = app_with(make_app, WORKER_CONCURRENCY=16, WORKER_PER_ENDPOINT=3)
    with app.app_context():
        add_endpoint(slow.url)
        ids = emit(12)
    Worker(app).run(until_idle=True)
    assert sorted(slow.event_ids()) == sorted(ids)  # each exactly once
    assert slow.max_in_flight == 3  # concurrent, and never more than the cap
    # Four rounds of three: the last request arrives about 0.9 s after the first, where one at a
    # time would take 3.3 s (start-up is left out: the machine may be busy).
    arrivals = [r.at for r in slow.received]
    assert max(arrivals) - min(arrivals) < 11 * 0.3 * 0.75


def test_a_hung_endpoint_does_not_delay_another(make_app, receivers):
    healthy, hung = receivers(), receivers()
    healthy.behaviour.stall_seconds = 0.2  # a realistic receiver
    hung.behaviour.stall_seconds = 30  # accepts, never answers in time
    app = app_with(make_app, WORKER_CONCURRENCY=16, WORKER_PER_ENDPOINT=4, WEBHOOK_TIMEOUT=6)
    with app.app_context():
        hung_id, _ = add_endpoint(hung.url)  # first: its deliveries come first in every claim
        add_endpoint(healthy.url)
        ids = emit(8)
    worker = Worker(app, name="fair")
    thread = threading.Thread(target=worker.run)
    emitted = time.time()
    thread.start()
    try:
        wait_for(lambda: len(healthy.received) >= 8, timeout=20)
        # Two rounds of four at 200 ms each, plus bookkeeping; the hung endpoint's timeout is 6 s.
        slowest = max(r.at for r in healthy.received) - emitted
        assert slowest < 3.0, f"healthy endpoint waited {slowest:.2f} s"
        assert sorted(healthy.event_ids()) == sorted(ids)
        assert hung.max_in_flight <= 4  # the hung one holds only its own slots
    finally:
        worker.stop()
        thread.join(30)
    with app.app_context():
        assert all(s == "pending" for s in statuses(hung_id))  # handed back on stop, not lost


@pytest.mark.slow
def test_two_worker_processes_with_concurrency_never_double_send(make_app, receivers):
    targets = [receivers() for _ in range(3)]
    for r in targets:
        r.behaviour.stall_seconds = 0.05
    app = app_with(make_app)
    with app.app_context():
        for r in targets:
            add_endpoint(r.url)
        ids = emit(40)
    procs = [
        start_worker(
            app,
            "",
            "--until-idle",
            WORKER_CONCURRENCY=8,
            WORKER_PER_ENDPOINT=2,
            WEBHOOK_DELIVERY_URL="",
            WEBHOOK_SECRET_KEYS=KEYS,
        )
        for _ in range(2)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for r in targets:
        assert sorted(r.event_ids()) == sorted(ids)  # every event exactly once at every endpoint
        assert r.max_in_flight <= 2  # the cap holds across both processes
    with app.app_context():
        assert statuses() == ["delivered"] * 120
        assert db.session.scalar(select(func.count(DeliveryAttempt.id))) == 120


def test_emails_of_a_batch_share_one_smtp_connection(make_app):
    from aiosmtpd.controller import Controller

    from tests.notifications.test_email_smtp import Handler, _free_port

    class Counting(Handler):
        ehlos = 0

        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            Counting.ehlos += 1
            session.host_name = hostname
            return responses

    handler = Counting()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = app_with(
            make_app,
            NOTIFICATIONS_EMAIL_ENABLED=True,
            MAIL_SUPPRESS_SEND=False,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=port,
            PUBLIC_BASE_URL="https://leaderboards.example.com",
        )
        for n in range(3):
            create_user(app, f"admin{n}@example.com", "password-123456", admin=True)
        with app.app_context():
            endpoint_id, _ = add_endpoint("http://127.0.0.1:9/hooks")
            health.disable(endpoint_id, "failing for a test", datetime.now(UTC), alert=True)
            db.session.commit()
        Worker(app).run(until_idle=True)
        assert sorted(rcpts[0] for rcpts, _ in handler.messages) == [f"admin{n}@example.com" for n in range(3)]
        assert Counting.ehlos == 1  # one connection (one EHLO) for the batch of three
    finally:
        controller.stop()


# ----------------------------------------------------------------------------- the circuit


def test_circuit_opens_after_failures_and_half_opens_with_one_probe(make_app, receivers):
    dead = receivers()
    dead.behaviour.default_status = 500
    clock = Clock()
    app = app_with(
        make_app,
        WORKER_PER_ENDPOINT=2,
        WEBHOOK_RETRY_DELAYS=[0],
        WEBHOOK_MAX_RETRIES=50,
        WEBHOOK_CIRCUIT_THRESHOLD=3,
        WEBHOOK_CIRCUIT_BASE_SECONDS=60,
        WEBHOOK_CIRCUIT_MAX_SECONDS=3600,
    )
    with app.app_context():
        endpoint_id, _ = add_endpoint(dead.url)
        emit(6)
        worker = Worker(app, clock=clock)
        assert worker.run_once() == 2  # two at a time while the circuit is closed
        assert worker.run_once() == 2
        row = endpoint_row(endpoint_id)
        assert row.consecutive_failures == 4
        assert row.circuit_open_until == clock.now + timedelta(seconds=120)  # 60 s doubled once
        assert worker.run_once() == 0  # open: nothing goes out
        clock.advance(seconds=119)
        assert worker.run_once() == 0
        assert len(dead.received) == 4

        clock.advance(seconds=2)  # half-open
        assert worker.run_once() == 1  # exactly one probe
        assert len(dead.received) == 5
        row = endpoint_row(endpoint_id)
        assert row.circuit_open_until == clock.now + timedelta(seconds=240)  # failed: open longer

        clock.advance(seconds=241)
        dead.behaviour.default_status = 200
        assert worker.run_once() == 1  # one probe again; it succeeds
        row = endpoint_row(endpoint_id)
        assert (row.consecutive_failures, row.failing_since, row.circuit_open_until) == (0, None, None)
        assert worker.run_once() == 2  # closed: the usual cap again
        assert db.session.scalar(select(func.max(Delivery.attempts))) <= 4  # retries not burnt while open


def test_endpoint_failing_for_the_period_is_disabled_and_admins_are_told(make_app, receivers):
    from app.extensions import mail

    dead = receivers()
    dead.behaviour.default_status = 503
    clock = Clock()
    app = app_with(
        make_app,
        WEBHOOK_RETRY_DELAYS=[3600],
        WEBHOOK_MAX_RETRIES=1000,
        WEBHOOK_CIRCUIT_THRESHOLD=0,  # no circuit here: only the period matters
        NOTIFICATIONS_EMAIL_ENABLED=True,
        PUBLIC_BASE_URL="https://leaderboards.example.com",
    )
    admin_id = create_user(app, "admin@example.com", "password-123456", admin=True)
    create_user(app, "staff@example.com", "password-123456", staff=True)
    with app.app_context():
        endpoint_id, _ = add_endpoint(dead.url)
        emit(1)
        worker = Worker(app, clock=clock)
        worker.run_once()
        assert endpoint_row(endpoint_id).failing_since == clock.now
        clock.advance(days=2)
        worker.run_once()
        assert endpoint_row(endpoint_id).enabled is True  # two days: still on
        clock.advance(days=1, seconds=1)
        worker.run_once()
        row = endpoint_row(endpoint_id)
        assert row.enabled is False and "disabled automatically" in row.disabled_reason
        assert len(dead.received) == 3

        items = db.session.scalars(select(Notification)).all()
        assert [(n.user_id, n.event) for n in items] == [(admin_id, "webhook.endpoint_disabled")]
        assert dead.url in items[0].title and items[0].url == f"/staff/webhooks/{endpoint_id}/"
        clock.advance(hours=1)  # the webhook delivery's next try is due
        with mail.record_messages() as sent:
            worker.run_once()  # the admin's email, and the webhook delivery is cancelled
        assert [m.recipients for m in sent] == [["admin@example.com"]]
        assert "switched off" in sent[0].subject and dead.url in sent[0].body
        assert statuses(endpoint_id) == ["cancelled"]


def test_worker_disables_an_endpoint_dead_for_the_period_even_with_nothing_to_send(make_app):
    clock = Clock()
    app = app_with(make_app)
    create_user(app, "admin@example.com", "password-123456", admin=True)
    with app.app_context():
        endpoint_id, _ = add_endpoint("http://127.0.0.1:9/hooks")
        db.session.execute(
            update(WebhookEndpoint).values(
                failing_since=clock.now - timedelta(days=3, seconds=1), consecutive_failures=9
            )
        )
        db.session.commit()
    Worker(app, clock=clock).run(until_idle=True)
    with app.app_context():
        assert endpoint_row(endpoint_id).enabled is False
        assert db.session.scalar(select(func.count(Notification.id))) == 1


# ----------------------------------------------------------------------------- retry since T, delete


def test_retry_failed_since_requeues_only_failed_deliveries_since_then(make_app, receivers):
    r = receivers()
    r.behaviour.default_status = 500
    app = app_with(make_app, WEBHOOK_MAX_RETRIES=0, WEBHOOK_CIRCUIT_THRESHOLD=0)
    with app.app_context():
        endpoint_id, _ = add_endpoint(r.url)
        emit(3)
    Worker(app).run(until_idle=True)
    with app.app_context():
        assert statuses() == ["failed"] * 3
        first = db.session.scalar(select(Delivery).order_by(Delivery.id))
        first.created_at = datetime(2026, 1, 1, tzinfo=UTC)  # failed long before the outage window
        db.session.commit()
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["outbox", "retry-failed", str(endpoint_id), "--since", "yesterday"])
    assert bad.exit_code == 1 and "since:" in bad.output
    r.behaviour.default_status = 200
    result = runner.invoke(args=["outbox", "retry-failed", str(endpoint_id), "--since", "2026-06-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "Queued 2 failed deliveries again." in result.output
    Worker(app).run(until_idle=True)
    with app.app_context():
        assert statuses() == ["failed", "delivered", "delivered"]
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "webhook.failed_retried"))
        assert audit.after["deliveries"] == 2


def test_admin_retries_failed_and_deletes_an_endpoint_in_the_portal(make_app, receivers):
    from tests.conftest import csrf_token_from

    r = receivers()
    r.behaviour.default_status = 500
    app = app_with(make_app, WEBHOOK_MAX_RETRIES=0, WEBHOOK_CIRCUIT_THRESHOLD=0)
    create_user(app, "admin@example.com", "password-123456", admin=True)
    with app.app_context():
        endpoint_id, _ = add_endpoint(r.url)
        emit(2)
    Worker(app).run(until_idle=True)
    client = app.test_client()
    page = client.get("/login")
    client.post(
        "/login",
        data={"email": "admin@example.com", "password": "password-123456", "csrf_token": csrf_token_from(page.text)},
    )
    page = client.get(f"/staff/webhooks/{endpoint_id}/")
    assert page.status_code == 200 and "Retry failed deliveries" in page.text
    token = csrf_token_from(page.text)
    bad = client.post(f"/staff/webhooks/{endpoint_id}/retry-failed", data={"csrf_token": token, "since": "soon"})
    assert bad.status_code == 400 and "is not a date and time" in bad.text
    done = client.post(
        f"/staff/webhooks/{endpoint_id}/retry-failed",
        data={"csrf_token": token, "since": "2000-01-01T00:00"},
        follow_redirects=True,
    )
    assert "2 failed deliveries queued again." in done.text
    with app.app_context():
        assert statuses() == ["pending", "pending"]

    # The button opens a confirm page first; only its own form deletes.
    confirm = client.get(f"/staff/webhooks/{endpoint_id}/delete")
    assert confirm.status_code == 200 and r.url in confirm.text
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id) is not None
    deleted = client.post(f"/staff/webhooks/{endpoint_id}/delete", data={"csrf_token": token}, follow_redirects=True)
    assert deleted.status_code == 200 and f"Deleted the endpoint {r.url}." in deleted.text
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id) is None
        assert statuses() == []  # its deliveries went with it; nothing will be sent
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "webhook.endpoint_deleted"))
        assert audit.before["url"] == r.url and audit.before["deliveries"] == {"pending": 2}
    assert client.get(f"/staff/webhooks/{endpoint_id}/").status_code == 404


# ----------------------------------------------------------------------------- pruning


def test_prune_keeps_undelivered_rows(make_app):
    app = app_with(make_app, NOTIFICATIONS_RETENTION_DAYS=30, PRUNE_BATCH_SIZE=2)
    user_id = create_user(app, "p@example.com", "password-123456")
    old = datetime.now(UTC) - timedelta(days=31)
    with app.app_context():
        endpoint_id, _ = add_endpoint("http://127.0.0.1:9/hooks")
        emit(6)
        events = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        wanted = ["delivered", "delivered", "delivered", "pending", "failed", "delivered"]
        for event, status in zip(events, wanted, strict=True):
            delivery = event.deliveries[0]
            delivery.status = status
            recent = event is events[-1]
            at = datetime.now(UTC) if recent else old
            db.session.add(DeliveryAttempt(delivery_id=delivery.id, number=1, outcome="x", started_at=at))
            if not recent:
                event.created_at = old
        # An old event delivered to one endpoint and still pending for another: kept whole,
        # but the delivered delivery's old attempts go.
        mixed = events[2]
        extra = Delivery(outbox_event_id=mixed.id, channel="webhook", endpoint_id=endpoint_id, status="pending")
        db.session.add(extra)
        db.session.add_all(
            [
                Notification(user_id=user_id, event="x", title="old", created_at=old),
                Notification(user_id=user_id, event="x", title="new"),
            ]
        )
        db.session.commit()
        kept_ids = [events[2].id, events[3].id, events[4].id, events[5].id]

    result = app.test_cli_runner().invoke(args=["outbox", "prune"])
    assert result.exit_code == 0, result.output
    assert "Pruned 2 events, 2 deliveries" in result.output
    with app.app_context():
        assert list(db.session.scalars(select(OutboxEvent.id).order_by(OutboxEvent.id))) == kept_ids
        assert sorted(db.session.scalars(select(Delivery.status))) == [
            "delivered",
            "delivered",
            "failed",
            "pending",
            "pending",
        ]
        # Attempts left: the pending and failed ones' (kept), and the recent event's.
        left = db.session.execute(
            select(Delivery.status).join(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id)
        ).scalars()
        assert sorted(left) == ["delivered", "failed", "pending"]
        assert list(db.session.scalars(select(Notification.title))) == ["new"]


# ----------------------------------------------------------------------------- secrets at rest


def _stored_secret(endpoint_id: int) -> str:
    return db.session.execute(text("SELECT secret FROM webhook_endpoints WHERE id = :id"), {"id": endpoint_id}).scalar()


def test_secrets_are_encrypted_at_rest_sign_correctly_and_survive_key_rotation(make_app, receivers):
    r = receivers()
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app = app_with(make_app, WEBHOOK_SECRET_KEYS=old_key)
    with app.app_context():
        endpoint_id, secret = add_endpoint(r.url)
        stored = _stored_secret(endpoint_id)
        assert secret not in stored and Fernet(old_key).decrypt(stored.encode()).decode() == secret
        emit(1)
    Worker(app).run(until_idle=True)
    Webhook(secret).verify(r.received[-1].body, r.received[-1].headers)

    # Step 1 of a rotation: the new key first, the old one still there to decrypt.
    rotating = app_with(make_app, create_schema=False, WEBHOOK_SECRET_KEYS=f"{new_key},{old_key}")
    result = rotating.test_cli_runner().invoke(args=["outbox", "reencrypt"])
    assert result.exit_code == 0, result.output
    with rotating.app_context():
        assert Fernet(new_key).decrypt(_stored_secret(endpoint_id).encode()).decode() == secret
    # Step 2: the old key is gone; signing still works.
    rotated = app_with(make_app, create_schema=False, WEBHOOK_SECRET_KEYS=new_key)
    with rotated.app_context():
        emit(1)
    Worker(rotated).run(until_idle=True)
    assert len(r.received) == 2
    Webhook(secret).verify(r.received[-1].body, r.received[-1].headers)
    expected = hmac.new(secret.encode(), r.received[-1].body, hashlib.sha256).hexdigest()
    assert r.received[-1].headers["X-DeltaCrown-Signature"] == expected

    # A key that never encrypted it: nothing is sent unsigned; the delivery says why.
    wrong = app_with(make_app, create_schema=False, WEBHOOK_SECRET_KEYS=Fernet.generate_key().decode())
    with wrong.app_context():
        emit(1)
        worker = Worker(wrong)
        worker.run_once()
        last = db.session.scalar(select(Delivery).order_by(Delivery.id.desc()))
        assert last.status == "pending" and "cannot be decrypted" in last.last_error
    assert len(r.received) == 2


def test_bad_secret_keys_setting_refuses_to_start(make_app):
    from app.config import ConfigError

    with pytest.raises(ConfigError, match="WEBHOOK_SECRET_KEYS: key 2 is not a Fernet key"):
        app_with(make_app, WEBHOOK_SECRET_KEYS=f"{Fernet.generate_key().decode()},not-a-key")


# ----------------------------------------------------------------------------- signatures over raw bytes


def test_signatures_cover_the_raw_utf8_body_with_non_ascii_names(make_app, receivers):
    r = receivers()
    app = app_with(make_app)
    with app.app_context():
        _, secret = add_endpoint(r.url)
        emit(1, tournament_name="Équipe Ünïcode")
    Worker(app).run(until_idle=True)
    got = r.received[-1]
    assert "Équipe Ünïcode".encode() in got.body  # UTF-8 on the wire, not \\u escapes
    assert json.loads(got.body)["data"]["tournament_name"] == "Équipe Ünïcode"
    signature = got.headers["X-DeltaCrown-Signature"]
    assert hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest() == signature
    Webhook(secret).verify(got.body, got.headers)  # Standard Webhooks, over the same bytes
    # A signature over an ASCII-escaped re-encoding of the same JSON would not match.
    reencoded = json.dumps(json.loads(got.body), separators=(",", ":")).encode()
    assert reencoded != got.body
    assert hmac.new(secret.encode(), reencoded, hashlib.sha256).hexdigest() != signature
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(secret).verify(reencoded, got.headers)
