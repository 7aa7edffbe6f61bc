"""Real Chromium: a captain registers a team from the public page, sends payment proof with a
screenshot, a staff member verifies it from the queue (the screenshot thumbnail loads under the
CSP), the captain's inbox shows the verification, and the public page's slot count follows.
Withdrawing then asks for confirmation in place (htmx), without leaving the page."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from app.extensions import db
from app.models import Entry
from app.services.registration import settings_save
from tests import factories as f
from tests.conftest import PLAYER_EMAIL, PLAYER_PASSWORD, STAFF_EMAIL, STAFF_PASSWORD, create_user


@pytest.fixture
def app(make_app, tmp_path):
    return make_app()


@pytest.fixture
def cup(app):
    staff_id = create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
    create_user(app, PLAYER_EMAIL, PLAYER_PASSWORD)
    with app.app_context():
        tournament = f.br_tournament("paid-cup", status="registration", teams=())
        db.session.commit()
        settings_save.save_settings(
            tournament.id,
            {
                "capacity": 4,
                "fee": {"amount": "500", "currency": "BDT"},
                "methods": [{"name": "bkash", "instructions": "bKash merchant 01700000000, reference = your code"}],
            },
            staff_id,
        )


def _log_in(page, url, email, password):
    page.goto(f"{url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")


def _watch(page, problems):
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))


def test_captain_pays_staff_verifies_inbox_and_slots_follow(app, live_server, new_page, cup, tmp_path):
    problems: list[str] = []
    url = live_server.url
    public_url = f"{url}/tournaments/paid-cup/"
    visitor = new_page()
    visitor.goto(public_url)
    expect(visitor.locator("#registration-slots")).to_have_text("4 of 4 slots left")

    captain = new_page()
    _watch(captain, problems)
    # Anonymous "Register a team" goes through the log-in page and back.
    captain.goto(public_url)
    captain.click("text=Register a team")
    captain.wait_for_url(re.compile(r"/login"))
    captain.fill("input[name=email]", PLAYER_EMAIL)
    captain.fill("input[name=password]", PLAYER_PASSWORD)
    captain.click("main button[type=submit]")
    captain.wait_for_url(re.compile(r"/tournaments/paid-cup/register"))
    captain.fill("#team_name", "Red Foxes")
    captain.fill("#tag", "RF")
    captain.click("main form button[type=submit]")
    captain.wait_for_url(re.compile(r"/account/registrations/\d+$"))
    code = captain.inner_text("#registration-code")
    assert re.fullmatch(r"[A-Z0-9]{6}", code)
    expect(captain.locator("main")).to_contain_text("bKash merchant 01700000000")

    shot = tmp_path / "bkash-receipt.png"
    Image.new("RGB", (360, 720), (220, 30, 90)).save(shot)
    captain.select_option("#method", "bkash")
    captain.fill("#transaction_id", "9A7B6C5D4E")
    captain.fill("#sender_last_digits", "4321")
    captain.set_input_files("#screenshot", str(shot))
    captain.click("text=Send payment proof")
    expect(captain.locator(".flash--success")).to_contain_text("Payment proof sent")
    expect(captain.locator(".proof-list")).to_contain_text("9A7B6C5D4E")

    visitor.reload()
    expect(visitor.locator("#registration-slots")).to_have_text("3 of 4 slots left")

    staff = new_page()
    _watch(staff, problems)
    _log_in(staff, url, STAFF_EMAIL, STAFF_PASSWORD)
    staff.wait_for_url(re.compile(r"/staff/"))
    staff.goto(f"{url}/staff/tournaments/paid-cup/registrations/")
    with app.app_context():
        entry_id = db.session.scalar(db.select(Entry.id).where(Entry.code == code))
    card = staff.locator(f"#entry-{entry_id}")
    expect(card).to_contain_text("Red Foxes")
    thumbnail = card.locator(".proof__shot img")
    expect(thumbnail).to_be_visible()
    # The thumbnail may still be loading on a busy machine: wait for it before reading its size.
    staff.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert staff.evaluate("(img) => img.naturalWidth", thumbnail.element_handle()) == 360
    card.get_by_role("button", name="Verify Red Foxes").click()
    expect(staff.locator(".flash--success")).to_contain_text("Red Foxes")
    with app.app_context():
        assert db.session.get(Entry, entry_id).status == "confirmed"

    captain.goto(f"{url}/inbox")
    # One notice per verification (the confirmation says the fee was verified too).
    expect(captain.locator("main")).to_contain_text("Payment verified, registration confirmed: Red Foxes")
    captain.goto(f"{url}/account/registrations/{entry_id}")
    expect(captain.locator("main")).to_contain_text("You are in.")

    # Withdrawing asks first, in place (htmx); nothing changes until confirmed.
    captain.evaluate("window.__sameDocument = true")
    captain.click("text=Withdraw the team…")
    expect(captain.locator("#withdraw-confirm")).to_contain_text("cannot be undone")
    assert captain.evaluate("window.__sameDocument") is True
    with app.app_context():
        assert db.session.get(Entry, entry_id).status == "confirmed"
    captain.click("#withdraw-confirm button[type=submit]")
    expect(captain.locator(".flash--info")).to_contain_text("withdrawn")

    visitor.reload()
    expect(visitor.locator("#registration-slots")).to_have_text("4 of 4 slots left")
    assert problems == []
