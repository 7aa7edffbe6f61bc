"""The inbox: own notifications only, mark one or all read (POST + CSRF), the header badge and
its htmx poll."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from tests.conftest import PLAYER_EMAIL, PLAYER_PASSWORD, create_user, csrf_token_from


@pytest.fixture
def inbox(app, client, auth, player_user):
    other = create_user(app, "other@example.com", "other password 1")
    with app.app_context():
        mine = [
            Notification(user_id=player_user, event="match.started", title=f"Live now: game {i}", url="/tournaments/x/")
            for i in range(3)
        ]
        mine.append(Notification(user_id=player_user, event="match.disputed", title="<b>Under review</b>", body="x&y"))
        theirs = Notification(user_id=other, event="match.started", title="Someone else's news")
        db.session.add_all([*mine, theirs])
        db.session.commit()
        ids = {"mine": [n.id for n in mine], "theirs": theirs.id}
    auth.login(PLAYER_EMAIL, PLAYER_PASSWORD)
    return ids


def _read_at(app, notification_id):
    with app.app_context():
        return db.session.scalar(select(Notification.read_at).where(Notification.id == notification_id))


def _badge(html):
    match = re.search(r'<span id="inbox-unread"[^>]*>([^<]*)</span>', html)
    assert match, html
    return match.group(1)


def test_inbox_lists_own_notifications_escaped(client, inbox):
    page = client.get("/inbox")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Live now: game 2" in html and "Someone else" not in html
    assert "&lt;b&gt;Under review&lt;/b&gt;" in html and "<b>Under review</b>" not in html
    assert "x&amp;y" in html
    assert "4 unread." in html
    assert _badge(html) == "4"
    assert 'hx-get="/inbox/unread-count"' in html and 'hx-trigger="every 20s"' in html


def test_mark_one_read_needs_csrf_and_ownership(app, client, inbox):
    target = inbox["mine"][0]
    assert client.post(f"/inbox/{target}/read").status_code == 400
    assert _read_at(app, target) is None
    token = csrf_token_from(client.get("/inbox").get_data(as_text=True))
    response = client.post(f"/inbox/{target}/read", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    first = _read_at(app, target)
    assert first is not None
    # Again: still read, same time. Someone else's, or no such id: 404 and nothing changes.
    assert client.post(f"/inbox/{target}/read", data={"csrf_token": token}).status_code == 302
    assert _read_at(app, target) == first
    assert client.post(f"/inbox/{inbox['theirs']}/read", data={"csrf_token": token}).status_code == 404
    assert _read_at(app, inbox["theirs"]) is None
    assert client.post("/inbox/99999999999/read", data={"csrf_token": token}).status_code == 404
    assert _badge(client.get("/inbox").get_data(as_text=True)) == "3"


def test_mark_read_with_htmx_swaps_the_item_and_updates_the_counts(app, client, inbox):
    token = csrf_token_from(client.get("/inbox").get_data(as_text=True))
    target = inbox["mine"][1]
    page = client.get("/inbox").get_data(as_text=True)
    assert f'hx-post="/inbox/{target}/read"' in page and f'hx-target="#notification-{target}"' in page
    # No token in the header: refused like any POST.
    assert client.post(f"/inbox/{target}/read", headers={"HX-Request": "true"}).status_code == 400
    # htmx sends the token as a header (static/js/app.js).
    response = client.post(f"/inbox/{target}/read", headers={"X-CSRFToken": token, "HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith(f'<li class="card inbox__item" id="notification-{target}">')
    assert "Mark as read" not in body and "Live now: game 1" in body
    assert re.search(r'<span id="inbox-unread"[^>]*hx-swap-oob="true"[^>]*>3</span>', body)
    assert '<span id="inbox-summary" hx-swap-oob="true">3 unread.</span>' in body
    assert "HX-Request" in response.headers["Vary"]
    assert _read_at(app, target) is not None


def test_mark_all_read(app, client, inbox):
    token = csrf_token_from(client.get("/inbox").get_data(as_text=True))
    assert client.post("/inbox/read-all").status_code == 400
    response = client.post("/inbox/read-all", data={"csrf_token": token}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Marked 4 notifications as read." in html
    assert all(_read_at(app, i) is not None for i in inbox["mine"])
    assert _read_at(app, inbox["theirs"]) is None
    assert _badge(html) == "0" and "Mark all as read" not in html


def test_unread_count_fragment_for_htmx(app, client, inbox):
    response = client.get("/inbox/unread-count", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True).strip()
    assert response.status_code == 200
    assert body.startswith('<span id="inbox-unread"') and body.endswith("</span>") and "<html" not in body
    assert _badge(body) == "4"
    assert "HX-Request" in response.headers["Vary"]
    assert "no-store" in response.headers["Cache-Control"]
    with app.app_context():
        owner = db.session.get(Notification, inbox["mine"][0]).user_id
        db.session.add(Notification(user_id=owner, event="x", title="y"))
        db.session.commit()
    assert _badge(client.get("/inbox/unread-count", headers={"HX-Request": "true"}).get_data(as_text=True)) == "5"


def test_logged_out_poll_stops_and_pages_need_login(client):
    # 286 is htmx's "stop polling": the tab of an ended session stops asking.
    assert client.get("/inbox/unread-count", headers={"HX-Request": "true"}).status_code == 286
    assert client.get("/inbox/unread-count").status_code == 401
    response = client.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/inbox/read-all").status_code in (302, 400)


def test_bad_page_number_is_a_400(client, inbox):
    assert client.get("/inbox?page=abc").status_code == 400
    assert client.get("/inbox?page=0").status_code == 400
    assert client.get("/inbox?page=2").status_code == 200
