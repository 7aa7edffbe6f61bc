"""Email against a real SMTP server (aiosmtpd on a free loopback port): sent by the real worker
command, permanent (5xx) rejections stop retries, 4xx and connection trouble are retried, the
timeout holds, and TLS verifies the server's certificate."""

from __future__ import annotations

import email
import itertools
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from email import policy
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

import tests.factories as f
from app.extensions import db
from app.models import Registration, User
from app.notifications import email as notification_email
from app.notifications import preferences
from app.notifications.models import Delivery, DeliveryAttempt
from app.notifications.outcome import OutcomeKind
from app.services.tournaments import states
from tests import ROOT
from tests.conftest import create_user

_SLUGS = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    """Records what arrives; answers RCPT or DATA with a fixed reply when told to."""

    def __init__(self, rcpt_reply: str | None = None, data_reply: str | None = None) -> None:
        self.rcpt_reply, self.data_reply = rcpt_reply, data_reply
        self.rcpts: list[str] = []
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts.append(address)
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    """start(handler, **kwargs) -> port; every server is stopped afterwards."""
    controllers = []

    def start(handler: Handler, **kwargs) -> int:
        port = _free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def mail_app(make_app):
    def _make(port: int, **overrides):
        settings = {
            "NOTIFICATIONS_EMAIL_ENABLED": True,
            "MAIL_SUPPRESS_SEND": False,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_TIMEOUT": 2,
            "PUBLIC_BASE_URL": "https://play.example.org",
            "WEBHOOK_MAX_RETRIES": 2,
            "WEBHOOK_RETRY_DELAYS": [0.05, 0.05],
            "WORKER_POLL_INTERVAL": 0.05,
        }
        return make_app(**{**settings, **overrides})

    return _make


def _match_started(app, players=("a@example.com", "b@example.com")) -> dict[str, int]:
    """A series game goes live through the service, with one registered player per side."""
    slug = f"val-cup-{next(_SLUGS)}"
    with app.app_context():
        t = f.series_tournament(slug, teams=("A", "B"))
        game = f.game(f.series(t, "gf", "A", "B", 3), None, state="scheduled")
        db.session.commit()
        tid, gid = t.id, game.id
    users = {}
    for key, address in zip("AB", players, strict=True):
        with app.app_context():
            existing = db.session.scalar(select(User.id).where(User.email == address))
        users[address] = existing or create_user(app, address, "player password 1")
        with app.app_context():
            participant = f.participant(db.session.get(f.Tournament, tid), key)
            db.session.add(Registration(tournament_id=tid, participant_id=participant.id, user_id=users[address]))
            db.session.commit()
    return {"tournament": tid, "slug": slug, "game": gid, **users}


def _go_live(app, ids):
    with app.app_context():
        states.change_match_state(ids["slug"], ids["game"], "live", None)


def _email_deliveries(app):
    with app.app_context():
        rows = db.session.scalars(select(Delivery).where(Delivery.channel == "email").order_by(Delivery.id)).all()
        return [(d.user_id, d.status, d.attempts, d.last_error) for d in rows]


def _worker_env(app, port) -> dict[str, str]:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = (app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}).get("connect_args", {}).get("options")
    if options:  # the test's own PostgreSQL schema
        uri += "?options=" + options.replace("=", "%3D")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "NOTIFICATIONS_", "WEBHOOK_"))}
    env.update(
        DATABASE_URL=uri,
        SECRET_KEY=app.config["SECRET_KEY"],
        NOTIFICATIONS_EMAIL_ENABLED="true",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(port),
        MAIL_TIMEOUT="5",
        PUBLIC_BASE_URL="https://play.example.org",
        WEBHOOK_RETRY_DELAYS="0.1,0.1",
        WEBHOOK_MAX_RETRIES="2",
    )
    return env


@pytest.mark.slow
def test_worker_process_sends_the_email_over_smtp(app, mail_app, smtp, tmp_path):
    handler = Handler()
    port = smtp(handler)
    app = mail_app(port)
    ids = _match_started(app)
    with app.app_context():
        preferences.set_email_opt_out(ids["b@example.com"], preferences.MATCHES, True)
        db.session.commit()
    _go_live(app, ids)

    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    result = subprocess.run(
        [flask, "--app", os.path.join(ROOT, "wsgi"), "worker", "--until-idle"],
        cwd=tmp_path,  # no developer .env is found from here
        env=_worker_env(app, port),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "1 delivered" in result.stderr

    assert len(handler.messages) == 1
    rcpts, raw = handler.messages[0]
    assert rcpts == ["a@example.com"]  # b opted out of match emails
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.get_payload()] == ["text/plain", "text/html"]
    assert parsed["Subject"] == "Live now: GF, game 1: Team A vs Team B"
    with app.app_context():
        delivery = db.session.scalar(select(Delivery).where(Delivery.channel == "email"))
        assert parsed["Message-ID"] == f"<{delivery.event.event_id}.{ids['a@example.com']}@play.example.org>"
        assert delivery.status == "delivered" and delivery.attempts == 1
        attempt = db.session.scalar(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery.id))
        assert attempt.outcome == "delivered"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The mail provider's one-click POST to the link in the header, without cookies.
    link = parsed["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://play.example.org/unsubscribe/")
    response = app.test_client().post(urlsplit(link).path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with app.app_context():
        assert not preferences.wants_email(ids["a@example.com"], preferences.MATCHES)


def test_permanent_rejection_is_tried_once(mail_app, smtp):
    handler = Handler(rcpt_reply="550 5.1.1 No such user here")
    app = mail_app(smtp(handler))
    ids = _match_started(app)
    _go_live(app, ids)
    result = app.test_cli_runner().invoke(args=["worker", "--until-idle"])
    assert result.exit_code == 0, result.output
    rows = _email_deliveries(app)
    assert [(status, attempts) for _, status, attempts, _ in rows] == [("failed", 1), ("failed", 1)]
    assert all("550" in error for *_, error in rows)
    assert len(handler.rcpts) == 2 and handler.messages == []


def test_temporary_rejection_follows_the_retry_schedule(mail_app, smtp):
    handler = Handler(data_reply="451 4.3.0 Try again later")
    app = mail_app(smtp(handler))
    ids = _match_started(app, players=("a@example.com", "nobody-else@example.com"))
    with app.app_context():
        preferences.set_email_opt_out(ids["nobody-else@example.com"], preferences.MATCHES, True)
        db.session.commit()
    _go_live(app, ids)
    started = time.monotonic()
    result = app.test_cli_runner().invoke(args=["worker", "--until-idle"])
    assert result.exit_code == 0, result.output
    # First try + WEBHOOK_MAX_RETRIES (2) retries, then it gives up.
    assert _email_deliveries(app)[0][1:3] == ("failed", 3)
    assert "451" in _email_deliveries(app)[0][3]
    assert len(handler.rcpts) == 3
    assert time.monotonic() - started < 30


def _one_delivery(app):
    ids = _match_started(app, players=("a@example.com", "b@example.com"))
    _go_live(app, ids)
    with app.app_context():
        newest = select(Delivery.id).where(Delivery.channel == "email").order_by(Delivery.id.desc())
        return db.session.scalars(newest).first()


def _deliver(app, delivery_id):
    with app.app_context():
        return notification_email.deliver(db.session.get(Delivery, delivery_id))


def test_data_rejection_gives_up_and_refused_connection_retries(mail_app, smtp):
    app = mail_app(smtp(Handler(data_reply="554 5.7.1 Message rejected as spam")))
    outcome = _deliver(app, _one_delivery(app))
    assert outcome.kind is OutcomeKind.GIVE_UP and outcome.status_code == 554

    closed = _free_port()
    app = mail_app(closed)
    outcome = _deliver(app, _one_delivery(app))
    assert outcome.kind is OutcomeKind.RETRY and "Connection" in outcome.detail


def test_a_server_that_never_answers_times_out(mail_app):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    try:
        app = mail_app(listener.getsockname()[1], MAIL_TIMEOUT=0.5)
        delivery_id = _one_delivery(app)
        started = time.monotonic()
        outcome = _deliver(app, delivery_id)
        elapsed = time.monotonic() - started
    finally:
        for conn, _ in accepted:
            conn.close()
        listener.close()
    assert outcome.kind is OutcomeKind.RETRY and "timed out" in outcome.detail
    assert elapsed < 5


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the TLS tests need the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_starttls_verifies_the_server_certificate(mail_app, smtp, certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Handler()
    port = smtp(handler, tls_context=context, require_starttls=True)

    # A certificate nobody vouches for: refused, nothing sent, tried again later.
    app = mail_app(port, MAIL_USE_TLS=True)
    outcome = _deliver(app, _one_delivery(app))
    assert outcome.kind is OutcomeKind.RETRY and "CERTIFICATE_VERIFY_FAILED" in outcome.detail
    assert handler.messages == []

    # Trusted through MAIL_CA_FILE: sent over TLS.
    app = mail_app(port, MAIL_USE_TLS=True, MAIL_CA_FILE=cert)
    outcome = _deliver(app, _one_delivery(app))
    assert outcome.kind is OutcomeKind.DELIVERED, outcome.detail
    assert len(handler.messages) == 1


def test_implicit_tls_verifies_the_server_certificate(mail_app, smtp, certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Handler()
    port = smtp(handler, ssl_context=context)

    app = mail_app(port, MAIL_USE_SSL=True)
    outcome = _deliver(app, _one_delivery(app))
    assert outcome.kind is OutcomeKind.RETRY and "CERTIFICATE_VERIFY_FAILED" in outcome.detail

    app = mail_app(port, MAIL_USE_SSL=True, MAIL_CA_FILE=cert)
    outcome = _deliver(app, _one_delivery(app))
    assert outcome.kind is OutcomeKind.DELIVERED, outcome.detail
    assert len(handler.messages) == 1
