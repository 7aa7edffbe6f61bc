"""The webhook endpoint admin in the staff portal: admins only, secret shown once, rotation,
enable/disable, delivery log, redeliver and test event, bad input refused with a 4xx."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from app.extensions import db
from app.models import AuditEvent, utcnow
from app.notifications import health
from app.notifications.models import Delivery, OutboxEvent, ReceiverHealth, WebhookEndpoint
from app.notifications.worker import Worker
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, AuthActions, create_user, csrf_token_from
from tests.webhook_receiver import WebhookReceiver

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin password 123"


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.stop()


@pytest.fixture
def app(make_app, receiver):
    return make_app(
        NOTIFICATIONS_WEBHOOK_ENABLED=True,
        WEBHOOK_DELIVERY_URL=receiver.url + "/default",
        WEBHOOK_SECRET_KEY="default-secret",
        WEBHOOK_ALLOW_PRIVATE_NETWORKS=True,
        WORKER_POLL_INTERVAL=0.02,
        WEBHOOK_RETRY_DELAYS=[0.05],
    )


@pytest.fixture
def admin(app, client, auth):
    create_user(app, ADMIN_EMAIL, ADMIN_PASSWORD, staff=True, admin=True)
    auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    return client


def token(client, path="/staff/webhooks/") -> str:
    return csrf_token_from(client.get(path).get_data(as_text=True))


def add_endpoint(client, url, event_types=()):
    return client.post(
        "/staff/webhooks/",
        data={"url": url, "description": "Scores bot", "event_types": list(event_types), "csrf_token": token(client)},
    )


SECRET_RE = re.compile(r'id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)<')


def test_only_admins(app, client, auth, staff_user):
    assert client.get("/staff/webhooks/").status_code == 302  # anonymous: to the log-in page
    auth.login(STAFF_EMAIL, STAFF_PASSWORD)
    assert client.get("/staff/webhooks/").status_code == 403
    assert client.post("/staff/webhooks/", data={"url": "https://x.example/"}).status_code in (400, 403)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(WebhookEndpoint.id))) == 0
    assert "Webhooks" not in client.get("/staff/").get_data(as_text=True)


def test_add_shows_secret_once_and_signs_with_it(app, admin, receiver):
    response = add_endpoint(admin, receiver.url, ["match.started"])
    assert response.status_code == 201
    secret = SECRET_RE.search(response.get_data(as_text=True)).group(1)
    with app.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
        assert endpoint.event_types == ["match.started"] and endpoint.secret == secret
        endpoint_id = endpoint.id
    detail = admin.get(f"/staff/webhooks/{endpoint_id}/").get_data(as_text=True)
    listing = admin.get("/staff/webhooks/").get_data(as_text=True)
    assert secret not in detail and secret not in listing
    assert "Webhooks" in admin.get("/staff/").get_data(as_text=True)  # the nav link, for admins

    # "Send test event" goes through the worker and verifies with the secret shown.
    response = admin.post(f"/staff/webhooks/{endpoint_id}/test", data={"csrf_token": token(admin)})
    assert response.status_code == 302
    Worker(app).run(until_idle=True)
    [got] = [r for r in receiver.received if r.path == "/hooks"]
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "webhook.test"
    log = admin.get(f"/staff/webhooks/{endpoint_id}/").get_data(as_text=True)
    assert "webhook.test" in log and "HTTP 200" in log and "ms" in log


def test_rotate_then_both_secrets_verify(app, admin, receiver):
    first = SECRET_RE.search(add_endpoint(admin, receiver.url).get_data(as_text=True)).group(1)
    with app.app_context():
        endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
    response = admin.post(f"/staff/webhooks/{endpoint_id}/rotate", data={"csrf_token": token(admin)})
    assert response.status_code == 200
    second = SECRET_RE.search(response.get_data(as_text=True)).group(1)
    assert second != first
    admin.post(f"/staff/webhooks/{endpoint_id}/test", data={"csrf_token": token(admin)})
    Worker(app).run(until_idle=True)
    got = [r for r in receiver.received if r.path == "/hooks"][-1]
    Webhook(first).verify(got.body, got.headers)
    Webhook(second).verify(got.body, got.headers)
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert "webhook.endpoint_created" in actions and "webhook.secret_rotated" in actions
        # The audit log never holds a secret.
        for event in db.session.scalars(select(AuditEvent)):
            assert first not in str(event.after) and second not in str(event.after)


def test_disable_cancels_pending_and_enable_again(app, admin, receiver):
    add_endpoint(admin, receiver.url)
    with app.app_context():
        endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
    admin.post(f"/staff/webhooks/{endpoint_id}/test", data={"csrf_token": token(admin)})
    assert admin.post(f"/staff/webhooks/{endpoint_id}/disable", data={"csrf_token": token(admin)}).status_code == 302
    Worker(app).run(until_idle=True)
    assert [r for r in receiver.received if r.path == "/hooks"] == []
    with app.app_context():
        assert db.session.scalar(select(Delivery.status).where(Delivery.endpoint_id == endpoint_id)) == "cancelled"
    # Test events and redelivery are refused while disabled, with a message and a 409.
    response = admin.post(f"/staff/webhooks/{endpoint_id}/test", data={"csrf_token": token(admin)})
    assert response.status_code == 409 and "disabled" in response.get_data(as_text=True)
    assert admin.post(f"/staff/webhooks/{endpoint_id}/enable", data={"csrf_token": token(admin)}).status_code == 302
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.endpoint_id == endpoint_id))
    response = admin.post(
        f"/staff/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver", data={"csrf_token": token(admin)}
    )
    assert response.status_code == 302
    Worker(app).run(until_idle=True)
    [got] = [r for r in receiver.received if r.path == "/hooks"]
    with app.app_context():
        event_id = db.session.scalar(select(OutboxEvent.event_id).where(OutboxEvent.type == "webhook.test"))
    assert got.headers["webhook-id"] == event_id  # the same event id as the cancelled delivery


def test_edit_endpoint(app, admin, receiver):
    add_endpoint(admin, receiver.url)
    with app.app_context():
        endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
    response = admin.post(
        f"/staff/webhooks/{endpoint_id}/",
        data={
            "url": "https://hooks.example.com/new",
            "description": "moved",
            "event_types": ["payment.verified", "match.completed"],
            "csrf_token": token(admin),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.url == "https://hooks.example.com/new"
        assert endpoint.event_types == ["payment.verified", "match.completed"]  # in the canonical order


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "http:// or https://"),
        ("ftp://example.com/x", "http:// or https://"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com:99999/", "Port"),
        ("https://" + "a" * 2000 + ".com/", "2000"),
    ],
)
def test_bad_urls_refused(app, admin, url, message):
    response = add_endpoint(admin, url)
    assert response.status_code == 400
    assert message.lower() in response.get_data(as_text=True).lower()
    with app.app_context():
        assert db.session.scalar(select(db.func.count(WebhookEndpoint.id))) == 0


def test_private_addresses_refused_in_the_form_when_not_allowed(make_app):
    app = make_app(WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
    create_user(app, ADMIN_EMAIL, ADMIN_PASSWORD, staff=True, admin=True)
    client = app.test_client()
    AuthActions(client).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    for url in ("http://127.0.0.1:8000/", "http://localhost/", "http://[::1]/", "http://169.254.169.254/"):
        response = add_endpoint(client, url)
        assert response.status_code == 400, url
        assert "public addresses" in response.get_data(as_text=True)


def test_bad_event_type_and_unknown_ids(app, admin):
    response = admin.post(
        "/staff/webhooks/", data={"url": "https://x.example/", "event_types": ["nope"], "csrf_token": token(admin)}
    )
    assert response.status_code == 400
    assert admin.get("/staff/webhooks/999/").status_code == 404
    assert admin.post("/staff/webhooks/999/rotate", data={"csrf_token": token(admin)}).status_code == 404
    assert admin.get("/staff/webhooks/99999999999/").status_code == 404
    add_endpoint(admin, "https://x.example/")
    with app.app_context():
        endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
    response = admin.post(
        f"/staff/webhooks/{endpoint_id}/deliveries/12345/redeliver", data={"csrf_token": token(admin)}
    )
    assert response.status_code == 404
    # A missing CSRF token is refused, and nothing changes.
    assert admin.post(f"/staff/webhooks/{endpoint_id}/disable").status_code == 400
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id).enabled is True


def test_configured_endpoint_log_and_test_event(app, admin, receiver):
    assert admin.get("/staff/webhooks/default/").status_code == 200
    assert admin.post("/staff/webhooks/default/test", data={"csrf_token": token(admin)}).status_code == 302
    Worker(app).run(until_idle=True)
    [got] = [r for r in receiver.received if r.path == "/hooks/default"]
    Webhook(b"default-secret").verify(got.body, got.headers)
    page = admin.get("/staff/webhooks/default/").get_data(as_text=True)
    assert "webhook.test" in page and "delivered" in page


def test_configured_endpoint_page_shows_its_circuit(app, admin, receiver):
    receiver.behaviour.default_status = 500
    with app.app_context():
        url = app.config["WEBHOOK_DELIVERY_URL"]
        db.session.add(
            ReceiverHealth(
                url_hash=health.receiver_key(url),
                url=url,
                consecutive_failures=7,
                failing_since=utcnow() - timedelta(hours=2),
                circuit_open_until=utcnow() + timedelta(minutes=30),
            )
        )
        db.session.commit()
    page = admin.get("/staff/webhooks/default/").get_data(as_text=True)
    assert "7 failures in a row" in page and "paused" in page and "never switched off" in page
