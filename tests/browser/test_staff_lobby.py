"""Real Chromium: a staff member logs in, enters a battle-royale lobby with the keyboard only
(type, Tab, Enter), sees each row checked and scored while typing, and the public page shows
the result."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import MatchResult
from tests import factories as f
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD


@pytest.fixture
def cup(app, staff_user):
    with app.app_context():
        f.br_tournament("ff-cup", preset="ffws", teams=("A", "B", "C", "D"))
        db.session.commit()


def test_staff_enters_a_lobby_by_keyboard_and_the_public_page_shows_it(app, live_server, page, cup):
    page.goto(f"{live_server.url}/login")
    # Autofocus lands a moment after "load" on a busy machine: type only once it has.
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.type(STAFF_EMAIL)
    expect(page.locator("#email")).to_have_value(STAFF_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(STAFF_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/"))

    page.goto(f"{live_server.url}/staff/tournaments/ff-cup/lobbies/new")
    expect(page.locator("#rows-0-placement")).to_be_focused()

    def type_row(placement: str, kills: str) -> None:
        page.keyboard.type(placement)
        page.keyboard.press("Tab")
        page.keyboard.type(kills)
        page.keyboard.press("Tab")

    type_row("1", "8")
    type_row("1", "3")  # the same placement as Team A: flagged while typing
    expect(page.locator("#check-1")).to_contain_text("placement 1 is also given to Team A")
    expect(page.locator("#check-0")).to_contain_text("also given to Team B")
    expect(page.locator("#lobby-check")).to_contain_text("problems to fix")

    # Back to Team B's placement (Shift+Tab twice) and fix it.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#rows-1-placement")).to_be_focused()
    page.keyboard.press("Backspace")
    page.keyboard.type("2")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    type_row("3", "0")
    page.keyboard.type("4")  # Team D: placement only, kills left empty (0)
    expect(page.locator("#check-0")).to_have_text("20 pts")
    expect(page.locator("#check-1")).to_have_text("12 pts")
    expect(page.locator("#check-3")).to_have_text("7 pts")
    expect(page.locator("#lobby-check")).to_contain_text("ready to save")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(MatchResult.id))) == 0  # checking saves nothing

    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/lobbies/new"))
    expect(page.locator(".flash--success")).to_contain_text("Saved lobby m1: 4 teams")

    page.goto(f"{live_server.url}/tournaments/ff-cup/")
    first = page.locator("table.standings tbody tr").first
    expect(first.locator(".team-name")).to_have_text("Team A")
    expect(first.locator(".total")).to_have_text("20")
