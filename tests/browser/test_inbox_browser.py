"""Real Chromium: the header's unread badge follows new notifications by itself (htmx poll), and
"Mark as read" works in place through htmx with the CSRF header app.js adds, under the CSP."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Notification
from tests.conftest import PLAYER_EMAIL, PLAYER_PASSWORD, create_user


@pytest.fixture
def app(make_app):
    return make_app(INBOX_POLL_SECONDS=1)


def _notify(app, user_id, title):
    with app.app_context():
        n = Notification(user_id=user_id, event="match.started", title=title, url="/")
        db.session.add(n)
        db.session.commit()
        return n.id


def test_badge_polls_and_mark_read_swaps_in_place(app, live_server, page):
    from playwright.sync_api import expect  # here: the browser fixture explains a missing Playwright

    user_id = create_user(app, PLAYER_EMAIL, PLAYER_PASSWORD)
    first = _notify(app, user_id, "Live now: <Grand> Final")
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", PLAYER_EMAIL)
    page.fill("input[name=password]", PLAYER_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/inbox")
    assert page.inner_text("#inbox-unread") == "1"
    assert "Live now: <Grand> Final" in page.inner_text(f"#notification-{first}")

    # A notification arrives: the badge shows it without a reload.
    page.evaluate("window.__sameDocument = true")
    _notify(app, user_id, "Finished: game 1")
    expect(page.locator("#inbox-unread")).to_have_text("2", timeout=5000)

    page.click(f"#notification-{first} button:has-text('Mark as read')")
    expect(page.locator("#inbox-unread")).to_have_text("1", timeout=5000)
    assert page.inner_text("#inbox-summary") == "1 unread."
    assert page.locator(f"#notification-{first} button").count() == 0
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, no navigation
    with app.app_context():
        assert db.session.get(Notification, first).read_at is not None
    assert problems == []
