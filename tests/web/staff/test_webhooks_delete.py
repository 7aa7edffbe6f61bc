"""Deleting a webhook endpoint in the portal: admins only, a confirm step, audited, its
waiting deliveries dropped; the shown-once secret has a copy button."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.notifications import endpoints
from app.notifications.models import Delivery, WebhookEndpoint
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user, csrf_token_from

ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin password 123"


def _endpoint(app, admin_id: int) -> int:
    with app.app_context():
        endpoint, _secret = endpoints.create_endpoint("https://hooks.example.com/in", "Desk", [], admin_id)
        endpoints.send_test_event(endpoint.id, admin_id)
        db.session.commit()
        return endpoint.id


def test_admin_deletes_an_endpoint_after_confirming(app, client, auth):
    admin_id = create_user(app, ADMIN_EMAIL, ADMIN_PASSWORD, staff=True, admin=True)
    endpoint_id = _endpoint(app, admin_id)
    auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    detail = client.get(f"/staff/webhooks/{endpoint_id}/").get_data(as_text=True)
    assert f'href="/staff/webhooks/{endpoint_id}/delete"' in detail
    confirm = client.get(f"/staff/webhooks/{endpoint_id}/delete")
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Delete this endpoint?" in page
    assert "1 delivery still waiting to be sent is dropped" in page
    with app.app_context():  # the confirm page changed nothing
        assert db.session.get(WebhookEndpoint, endpoint_id) is not None
    assert client.post(f"/staff/webhooks/{endpoint_id}/delete").status_code == 400  # no CSRF token
    response = client.post(f"/staff/webhooks/{endpoint_id}/delete", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/webhooks/")
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id) is None
        assert db.session.scalar(select(db.func.count(Delivery.id)).where(Delivery.endpoint_id == endpoint_id)) == 0
        event = db.session.scalar(select(AuditEvent).filter_by(action="webhook.endpoint_deleted"))
        assert event.actor_id == admin_id and event.before["url"] == "https://hooks.example.com/in"
        assert "secret" not in event.before
    assert client.get(f"/staff/webhooks/{endpoint_id}/delete").status_code == 404


def test_staff_who_are_not_admins_cannot_delete(app, client, auth, staff_user):
    admin_id = create_user(app, ADMIN_EMAIL, ADMIN_PASSWORD, staff=True, admin=True)
    endpoint_id = _endpoint(app, admin_id)
    auth.login(STAFF_EMAIL, STAFF_PASSWORD)
    assert client.get(f"/staff/webhooks/{endpoint_id}/delete").status_code == 403
    assert client.post(f"/staff/webhooks/{endpoint_id}/delete").status_code in (400, 403)  # CSRF first
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id) is not None


def test_the_secret_shown_once_has_a_copy_button(app, client, auth):
    create_user(app, ADMIN_EMAIL, ADMIN_PASSWORD, staff=True, admin=True)
    auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    token = csrf_token_from(client.get("/staff/webhooks/").get_data(as_text=True))
    response = client.post("/staff/webhooks/", data={"url": "https://hooks.example.com/x", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 201
    assert 'data-copy-target="webhook-secret" hidden>Copy secret</button>' in html
