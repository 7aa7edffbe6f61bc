"""Webhooks on the wire (contract §6), sent by the worker to a real HTTP receiver on loopback:
both signatures as a receiver verifies them, retries, redirects, 410, the SSRF guard, and
payloads without personal data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select
from standardwebhooks import Webhook

import tests.factories as f
from app.extensions import db
from app.models import Match, Payment, Registration, Tournament, User, utcnow
from app.notifications import net, outbox, webhooks
from app.notifications.models import Delivery, DeliveryAttempt, OutboxEvent, WebhookEndpoint
from app.notifications.worker import Worker
from app.services import announcements
from app.services.registration import decisions, entries, payments, settings_save, timed_steps
from app.services.results import lobbies
from app.services.standings.leaderboard import LeaderboardService as LS
from app.services.tournaments import states
from tests.conftest import create_user
from tests.webhook_receiver import WebhookReceiver

SECRET = "test-webhook-secret"


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.stop()


def hook_app(make_app, url, **overrides):
    return make_app(
        **{
            "NOTIFICATIONS_WEBHOOK_ENABLED": True,
            "WEBHOOK_DELIVERY_URL": url,
            "WEBHOOK_SECRET_KEY": SECRET,
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True,
            "WEBHOOK_RETRY_DELAYS": [0.05, 0.1, 0.2],
            "WEBHOOK_MAX_RETRIES": 3,
            "WEBHOOK_TIMEOUT": 2,
            "WEBHOOK_CONNECT_TIMEOUT": 1,
            "WORKER_POLL_INTERVAL": 0.02,
            **overrides,
        }
    )


@pytest.fixture
def app(make_app, receiver):
    return hook_app(make_app, receiver.url)


def emit_one(type_="leaderboard.updated") -> OutboxEvent:
    t = db.session.scalar(select(f.Tournament).limit(1)) or f.br_tournament()
    event = outbox.emit(type_, tournament_id=t.id, data=outbox.leaderboard_data(t), subject=t)
    db.session.commit()
    return event


def drain(app) -> Worker:
    worker = Worker(app, name="test-worker")
    worker.run(until_idle=True)
    return worker


def attempts_of(delivery_id):
    return db.session.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id).order_by(DeliveryAttempt.id)
    ).all()


def test_delivery_carries_both_signatures_over_the_exact_body(app, receiver):
    with app.app_context():
        event = emit_one()
        event_id = event.event_id
    drain(app)
    [got] = receiver.received
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-DeltaCrown-Event-ID"] == got.headers["webhook-id"] == event_id
    # X-DeltaCrown-Signature: hex HMAC-SHA256 of the body bytes with the secret's UTF-8 bytes.
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["X-DeltaCrown-Signature"], expected)
    # Standard Webhooks, as a receiver verifies it (the raw secret's bytes are the key).
    payload = Webhook(SECRET.encode()).verify(got.body, got.headers)
    assert payload["type"] == "leaderboard.updated"
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 30
    # Compact JSON, in the contract's shape.
    assert got.body == json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    assert list(payload) == ["type", "timestamp", "data"] and payload["timestamp"].endswith("Z")
    with app.app_context():
        delivery = db.session.scalar(select(Delivery))
        assert (delivery.status, delivery.attempts) == ("delivered", 1)
        [attempt] = attempts_of(delivery.id)
        assert (attempt.outcome, attempt.status_code) == ("delivered", 200)
        assert attempt.latency_ms is not None and attempt.response_excerpt == '{"ok": true}'


def test_whsec_secret_is_base64_decoded_for_standard_webhooks(make_app, receiver):
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    app = hook_app(make_app, receiver.url, WEBHOOK_SECRET_KEY=secret)
    with app.app_context():
        emit_one()
    drain(app)
    [got] = receiver.received
    Webhook(secret).verify(got.body, got.headers)  # the library decodes whsec_ secrets itself
    assert got.headers["X-DeltaCrown-Signature"] == hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()


def test_retries_on_schedule_with_the_same_event_id_then_succeeds(app, receiver):
    receiver.behaviour.statuses = [500, 503, 502]
    with app.app_context():
        event_id = emit_one().event_id
    started = time.monotonic()
    drain(app)
    elapsed = time.monotonic() - started
    assert [r.headers["webhook-id"] for r in receiver.received] == [event_id] * 4
    gaps = [b.at - a.at for a, b in zip(receiver.received, receiver.received[1:], strict=False)]
    for gap, delay in zip(gaps, [0.05, 0.1, 0.2], strict=True):
        assert gap >= delay - 0.01, (gaps, delay)
    assert elapsed < 5
    # Every attempt is signed afresh and verifies.
    for got in receiver.received:
        Webhook(SECRET.encode()).verify(got.body, got.headers)
    with app.app_context():
        delivery = db.session.scalar(select(Delivery))
        assert (delivery.status, delivery.attempts) == ("delivered", 4)
        assert [(a.outcome, a.status_code) for a in attempts_of(delivery.id)] == [
            ("retry", 500),
            ("retry", 503),
            ("retry", 502),
            ("delivered", 200),
        ]


def test_gives_up_after_max_retries(make_app, receiver):
    app = hook_app(make_app, receiver.url, WEBHOOK_MAX_RETRIES=2)
    receiver.behaviour.default_status = 500
    with app.app_context():
        emit_one()
    drain(app)
    assert len(receiver.received) == 3  # the first attempt and two retries
    with app.app_context():
        delivery = db.session.scalar(select(Delivery))
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 3, "HTTP 500")


def test_any_2xx_is_success(app, receiver):
    receiver.behaviour.default_status = 204
    receiver.behaviour.answer = b""
    with app.app_context():
        emit_one()
    drain(app)
    with app.app_context():
        assert db.session.scalar(select(Delivery.status)) == "delivered"


def test_redirects_are_not_followed(app, receiver):
    other = WebhookReceiver()
    try:
        receiver.behaviour.statuses = [307, 302]
        receiver.behaviour.location = other.url
        with app.app_context():
            emit_one()
        drain(app)
        assert other.received == []
        assert len(receiver.received) == 3  # two redirects answered with a retry, then 200
        with app.app_context():
            outcomes = [(a.outcome, a.status_code) for a in attempts_of(db.session.scalar(select(Delivery.id)))]
            assert outcomes == [("retry", 307), ("retry", 302), ("delivered", 200)]
    finally:
        other.stop()


def test_410_disables_the_endpoint_and_stops(make_app, receiver):
    # One in flight per endpoint: the second event is still waiting when the 410 comes back.
    app = hook_app(make_app, "", WORKER_PER_ENDPOINT=1)
    receiver.behaviour.statuses = [410]
    with app.app_context():
        endpoint = WebhookEndpoint(url=receiver.url, secret=webhooks.new_secret(), event_types=[])
        db.session.add(endpoint)
        db.session.commit()
        emit_one()
        emit_one()  # a second event for the same endpoint, pending when the 410 arrives
    drain(app)
    assert len(receiver.received) == 1
    with app.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
        assert endpoint.enabled is False and "410" in endpoint.disabled_reason
        statuses = db.session.scalars(select(Delivery.status).order_by(Delivery.id)).all()
        assert statuses == ["failed", "cancelled"]
        emit_one()
        assert db.session.scalar(select(db.func.count(Delivery.id))) == 2  # disabled: no new deliveries


def test_rotation_sends_both_signatures_for_a_day(make_app, receiver):
    app = hook_app(make_app, "")
    with app.app_context():
        old_secret = webhooks.new_secret()
        endpoint = WebhookEndpoint(url=receiver.url, secret=old_secret, event_types=[])
        db.session.add(endpoint)
        db.session.commit()
        new_secret = webhooks.rotate_secret(endpoint)
        db.session.commit()
        emit_one()
    drain(app)
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert len(got.headers["X-DeltaCrown-Signature"].split(" ")) == 2
    Webhook(old_secret).verify(got.body, got.headers)  # receivers not yet switched still verify
    Webhook(new_secret).verify(got.body, got.headers)
    hex_sigs = got.headers["X-DeltaCrown-Signature"].split(" ")
    assert hmac.new(new_secret.encode(), got.body, hashlib.sha256).hexdigest() == hex_sigs[0]
    assert hmac.new(old_secret.encode(), got.body, hashlib.sha256).hexdigest() == hex_sigs[1]
    with app.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
        endpoint.previous_secret_expires_at = utcnow() - timedelta(seconds=1)  # a day later
        db.session.commit()
        emit_one()
    drain(app)
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(got.body, got.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old_secret).verify(got.body, got.headers)


def test_receiver_down_then_back(app, receiver):
    port = receiver.port
    receiver.stop()
    with app.app_context():
        event_id = emit_one().event_id
        Worker(app, name="w").run_once()  # connection refused: retried later
        delivery = db.session.scalar(select(Delivery).execution_options(populate_existing=True))
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert "connection failed" in delivery.last_error
    back = WebhookReceiver(port=port)
    try:
        drain(app)
        assert back.unique_event_ids() == {event_id}
    finally:
        back.stop()


# ----------------------------------------------------------------------------------- SSRF


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "fe80::1",
        "fc00::1",
        "224.0.0.1",
        "ff02::1",
        "0.0.0.0",
        "::",
        "240.0.0.1",
        "100.64.0.1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_refused_addresses(address):
    assert net.refusal_reason(address) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_pass(address):
    assert net.refusal_reason(address) is None


def test_ssrf_guard_refuses_a_name_resolving_to_loopback(make_app, receiver):
    """`localhost` is a name: the refusal happens after DNS, at connect time, and is final."""
    url = f"http://localhost:{receiver.port}/hooks"
    app = hook_app(make_app, url, WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
    with app.app_context():
        emit_one()
    drain(app)
    assert receiver.received == []
    with app.app_context():
        delivery = db.session.scalar(select(Delivery))
        assert delivery.status == "failed" and delivery.attempts == 1  # not retried
        assert "SSRF" in delivery.last_error and "loopback" in delivery.last_error


@pytest.mark.parametrize("host", ["2130706433", "0x7f.0.0.1", "127.1", "[::ffff:127.0.0.1]"])
def test_ssrf_guard_sees_through_address_spellings(make_app, receiver, host):
    """Decimal, hex and short forms of 127.0.0.1 are resolved by the system, then refused."""
    app = hook_app(make_app, f"http://{host}:{receiver.port}/hooks", WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
    with app.app_context():
        emit_one()
    drain(app)
    assert receiver.received == []
    with app.app_context():
        delivery = db.session.scalar(select(Delivery))
        assert delivery.status == "failed" and "SSRF" in delivery.last_error


def test_ssrf_guard_checks_what_dns_answers(make_app, receiver, monkeypatch):
    """A public-looking name whose DNS answer is private (rebinding) is refused too."""
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    app = hook_app(make_app, f"http://hooks.example.com:{receiver.port}/hooks", WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
    with app.app_context():
        emit_one()
    drain(app)
    assert receiver.received == []
    with app.app_context():
        assert "127.0.0.1 is a loopback address" in db.session.scalar(select(Delivery.last_error))
    # The same name with the flag on reaches the receiver (so the refusal above was the guard).
    app = hook_app(make_app, f"http://hooks.example.com:{receiver.port}/hooks")
    with app.app_context():
        emit_one()
    drain(app)
    assert len(receiver.received) == 1


def test_environment_proxies_are_ignored(app, receiver, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with app.app_context():
        emit_one()
    drain(app)
    assert len(receiver.received) == 1


# ----------------------------------------------------------------------------------- payloads

PII = {
    "email": "ayesha.rahman@example.com",
    "name": "Ayesha Rahman",
    "phone": "+8801712345678",
    "reference": "BKASH-TX-5550123",
    "method": "bKash-personal",
    "amount": "73519",
}


def test_no_personal_data_in_any_webhook(app, receiver):
    """Every event type, with a user, a payment and a team around them full of personal data:
    none of it reaches the receiver."""
    with app.app_context():
        staff = create_user(app, "boss@example.com", "password123", staff=True)
        player = User(email=PII["email"], display_name=PII["name"])
        player.set_password("password123")
        db.session.add(player)
        t = f.br_tournament("pii-cup")
        db.session.flush()
        registration = Registration(tournament_id=t.id, participant_id=f.participant(t, "A").id, user_id=player.id)
        db.session.add(registration)
        db.session.flush()
        payment = Payment(
            registration_id=registration.id,
            amount_cents=int(PII["amount"]),
            currency="BDT",
            method=PII["method"],
            reference=PII["reference"],
        )
        db.session.add(payment)
        m = f.lobby(t, [("A", 1, 2), ("B", 2, 0)], state="scheduled")
        db.session.commit()
        payments.verify_payment(payment.id, staff)
        payments.refund_payment(payment.id, staff, f"Refund to {PII['phone']} for {PII['name']}")
        for state in ("live", "completed", "disputed", "completed"):
            states.change_match_state(t.id, m.id, state, staff, reason=f"call {PII['phone']}")
        # A correction of the completed lobby: its notice (reason, before -> after) is for people only.
        rows = [{"participant": "A", "placement": 2, "kills": 2}, {"participant": "B", "placement": 1, "kills": 0}]
        version = db.session.get(Match, m.id).version
        lobbies.correct_lobby(t.id, m.id, None, rows, version, staff, reason=f"Per {PII['name']} on {PII['phone']}")
        LS.complete_tournament(t.id, staff)
        LS.override_placement(t.id, "B", 1, f"Per {PII['name']} ({PII['email']})", staff)
        # Registration: a proof turned away, one accepted, one team gone at its deadline.
        reg = Tournament(slug="pii-open", name="PII Open", game="freefire", status="registration")
        db.session.add(reg)
        db.session.commit()
        settings = {"capacity": 4, "fee": {"amount": PII["amount"], "currency": "BDT"}}
        settings["methods"] = [{"name": "bkash", "instructions": f"Send to {PII['phone']}"}]
        settings_save.save_settings(reg.id, settings, staff)
        entry = entries.register(reg.id, player.id, "Team Ayesha", "TA")
        proof = {"method": "bkash", "transaction_id": PII["reference"], "amount": PII["amount"]}
        entries.submit_proof(entry.id, player.id, sender_last_digits="5678", **proof)
        decisions.decide(entry.id, "reject", staff, reason=f"Sent from {PII['phone']}, not {PII['name']}'s")
        entries.submit_proof(entry.id, player.id, **{**proof, "transaction_id": PII["reference"] + "9"})
        decisions.decide(entry.id, "verify", staff)
        # Staff tell every team something (people only, like the offer below).
        news = f"Call {PII['name']} on {PII['phone']}"
        announcements.announce(reg.id, "Room details", news, announcements.new_token(), staff)
        late = entries.register(reg.id, create_user(app, "late@example.com", "password123"), "Late Team")
        # Full up: the next team waits, and is offered the place the late team leaves.
        settings_save.save_settings(reg.id, {**settings, "capacity": 2}, staff)
        entries.register(reg.id, create_user(app, "wait@example.com", "password123"), "Waiting Team")
        timed_steps.run_timed_steps(now=late.payment_deadline + timedelta(seconds=1))
        types = set(db.session.scalars(select(OutboxEvent.type)))
    assert types == set(outbox.EVENT_TYPES)
    drain(app)
    # An offer of a freed place is for the team alone, an announcement for the players: never a
    # webhook (contract §6 fixes the types).
    assert {json.loads(r.body)["type"] for r in receiver.received} == set(outbox.EVENT_TYPES) - outbox.PEOPLE_ONLY_TYPES
    for got in receiver.received:
        wire = got.body.decode() + json.dumps(got.headers)
        for label, value in PII.items():
            assert value not in wire, f"{label} leaked in {json.loads(got.body)['type']}"
        assert "amount" not in wire and "currency" not in wire and "reference" not in wire


@pytest.fixture
def tls_receiver(tmp_path):
    """The receiver behind TLS with a self-signed certificate for `localhost` (made with openssl)."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    r = WebhookReceiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    r._server.socket = context.wrap_socket(r._server.socket, server_side=True)
    yield r, str(cert)
    r.stop()


def test_https_goes_through_the_guard_and_verifies_the_certificate(tls_receiver):
    receiver, cert = tls_receiver
    url = f"https://localhost:{receiver.port}/hooks"
    # Allowed: the TLS handshake on the guarded connection checks the certificate for `localhost`.
    response = net.webhook_session(allow_private=True).post(url, data=b"{}", verify=cert, timeout=5)
    assert response.status_code == 200 and len(receiver.received) == 1
    # An untrusted certificate is refused by TLS verification, not by the guard.
    with pytest.raises(requests.exceptions.SSLError):
        net.webhook_session(allow_private=True).post(url, data=b"{}", timeout=5)
    # With the flag off the guard refuses before any byte of TLS is sent.
    with pytest.raises(requests.exceptions.ConnectionError) as refused:
        net.webhook_session(allow_private=False).post(url, data=b"{}", verify=cert, timeout=5)
    assert net.refused_in(refused.value) is not None
    assert len(receiver.received) == 1
