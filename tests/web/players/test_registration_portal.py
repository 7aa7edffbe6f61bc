"""Registration through the portal's forms, over HTTP as a browser without JavaScript sends them:
staff set registration up, captains register and send payment proof (a real PNG), staff decide
from the queue (one, several at once, reject then resubmit, refund after a confirm page), the
CSV export is spreadsheet-safe, a transaction ID used twice is flagged, the public page's slot
count follows, and the pages are usable from the keyboard (labels, real buttons)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from PIL import Image

from app.extensions import db
from app.models import AuditEvent, Entry, PaymentProof, utcnow
from tests import factories as f
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user, csrf_token_from

SLUG = "reg-cup"
STAFF_URL = f"/staff/tournaments/{SLUG}"
QUEUE = f"{STAFF_URL}/registrations/"
SETTINGS = {
    "capacity": "4",
    "roster_min": "1",
    "roster_max": "4",
    "fee": "500",
    "currency": "BDT",
    "payment_deadline_hours": "48",
    "bkash": "y",
    "bkash_instructions": "bKash merchant 01700000000, reference = your registration code",
    "nagad": "y",
    "nagad_instructions": "Nagad personal 01800000000",
}


class Browser:
    """One person's test client: logs in through /login and posts forms with their CSRF token."""

    def __init__(self, app, email: str, password: str):
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        response = self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": csrf_token_from(page)}
        )
        assert response.status_code == 302
        self.token = csrf_token_from(self.client.get("/account/registrations").get_data(as_text=True))

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url, data=None, **kwargs):
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)


def png_bytes(color=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 640), color).save(out, "PNG")
    return out.getvalue()


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def app(make_app, tmp_path):
    return make_app()


@pytest.fixture
def tournament_id(app):
    with app.app_context():
        t = f.br_tournament(SLUG, status="registration", teams=())
        db.session.commit()
        return t.id


@pytest.fixture
def staff(app, tournament_id):
    create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
    return Browser(app, STAFF_EMAIL, STAFF_PASSWORD)


@pytest.fixture
def open_registration(staff):
    response = staff.post(f"{STAFF_URL}/registration", SETTINGS)
    assert response.status_code == 302, text(response)
    return staff


def captain(app, name: str) -> Browser:
    create_user(app, f"{name}@example.com", "captain password 1")
    return Browser(app, f"{name}@example.com", "captain password 1")


def register(browser: Browser, team: str, tag: str = "") -> int:
    response = browser.post(f"/tournaments/{SLUG}/register", {"team_name": team, "tag": tag})
    assert response.status_code == 302, text(response)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def send_proof(browser: Browser, entry_id: int, txn: str, *, screenshot: bytes | None = None, amount="500"):
    data = {"method": "bkash", "transaction_id": txn, "amount": amount, "sender_last_digits": "4321"}
    if screenshot is not None:
        data["screenshot"] = (io.BytesIO(screenshot), "payment.png")
    return browser.post(
        f"/account/registrations/{entry_id}/proof", data, content_type="multipart/form-data", follow_redirects=False
    )


def entry(app, entry_id: int) -> Entry:
    with app.app_context():
        found = db.session.get(Entry, entry_id)
        db.session.expunge(found)
        return found


def card(html: str, entry_id: int) -> str:
    """The queue card of one entry: from its start to the next card or the end of the list."""
    start = html.find(f'id="entry-{entry_id}"')
    assert start != -1, f"no card for entry {entry_id}"
    ends = [i for i in (html.find('<li class="entry-card', start), html.find("</section>", start)) if i != -1]
    return html[start : min(ends)]


def slots(html: str) -> str:
    match = re.search(r'id="registration-slots">([^<]*)<', html)
    return match.group(1) if match else ""


# --------------------------------------------------------------------------- settings


def test_settings_form_saves_and_shows_the_stored_settings(app, staff, tournament_id):
    page = staff.get(f"{STAFF_URL}/registration")
    assert page.status_code == 200 and "Registration is off" in text(page)
    assert staff.post(f"{STAFF_URL}/registration", SETTINGS).status_code == 302
    html = text(staff.get(f"{STAFF_URL}/registration"))
    assert 'value="500.00"' in html and 'value="4"' in html and 'value="48"' in html
    assert "bKash merchant 01700000000" in html and "Nagad personal" in html
    assert re.search(r'<input[^>]*checked[^>]*id="bkash"|<input[^>]*id="bkash"[^>]*checked', html)
    assert not re.search(r'<input[^>]*checked[^>]*id="rocket"|<input[^>]*id="rocket"[^>]*checked', html)
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "registration.settings_saved")
            )
            == 1
        )


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"capacity": "abc"}, "capacity", "a whole number"),
        ({"capacity": "0"}, "capacity", "capacity"),
        ({"fee": "5,00"}, "fee", ""),
        ({"bkash": "", "nagad": ""}, "methods", "payment method"),
        ({"opens_at": "2026-12-05T10:00", "closes_at": "2026-12-01T10:00"}, "closes_at", "after"),
        ({"opens_at": "tomorrow"}, "opens_at", "a date and time"),
        ({"roster_min": "5", "roster_max": "2"}, "roster_max", "roster_min"),
    ],
)
def test_bad_settings_are_refused_next_to_the_field(app, staff, change, field, message):
    response = staff.post(f"{STAFF_URL}/registration", {**SETTINGS, **change})
    assert response.status_code == 400
    html = text(response)
    assert f'id="{field}-errors"' in html or (field == "methods" and 'id="methods-errors"' in html)
    assert message in html
    assert 'aria-invalid="true"' in html or field == "methods"
    with app.app_context():
        from app.models import RegistrationSettings

        assert db.session.scalar(db.select(db.func.count(RegistrationSettings.id))) == 0


def test_settings_and_queue_are_staff_only(app, open_registration):
    player = captain(app, "nosy")
    assert player.get(f"{STAFF_URL}/registration").status_code == 403
    assert player.get(QUEUE).status_code == 403
    assert app.test_client().get(QUEUE).status_code == 302


# --------------------------------------------------------------------------- the whole flow


def test_register_pay_verify_and_the_public_slot_count(app, open_registration):
    staff = open_registration
    anonymous = app.test_client()
    public = text(anonymous.get(f"/tournaments/{SLUG}/"))
    assert slots(public) == "4 of 4 slots left"
    assert "BDT 500.00" in public and "bKash, Nagad" in public and "Register a team" in public
    # Anonymous: log in first, then back to the register page.
    response = anonymous.get(f"/tournaments/{SLUG}/register")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "register" in response.headers["Location"]

    red = captain(app, "red")
    form = red.get(f"/tournaments/{SLUG}/register")
    assert form.status_code == 200 and '<label for="team_name">Team name</label>' in text(form)
    entry_id = register(red, "Red Foxes", "RF")
    page = text(red.get(f"/account/registrations/{entry_id}"))
    code = entry(app, entry_id).code
    assert f'id="registration-code">{code}<' in page
    assert "bKash merchant 01700000000, reference = your registration code" in page
    deadline = entry(app, entry_id).payment_deadline
    assert deadline.strftime("%Y-%m-%d %H:%M") in page
    # The slot is taken: the cached public page shows it at once.
    assert slots(text(anonymous.get(f"/tournaments/{SLUG}/"))) == "3 of 4 slots left"
    assert "Red Foxes" in text(red.get("/account/registrations"))

    assert send_proof(red, entry_id, "9A7B6C5D4E", screenshot=png_bytes()).status_code == 302
    assert entry(app, entry_id).payment_status == "submitted"
    queue = text(staff.get(QUEUE))
    first = card(queue, entry_id)
    assert "Red Foxes" in first and "9A7B6C5D4E" in first and "…4321" in first
    with app.app_context():
        proof = db.session.scalar(db.select(PaymentProof).where(PaymentProof.entry_id == entry_id))
        assert proof.screenshot_key
    assert f'src="/proofs/{proof.id}/screenshot"' in first
    assert "Roster (1 of 1–4)" in first and "red (captain)" in first

    response = staff.post(f"{STAFF_URL}/registrations/{entry_id}/decision", {"decision": "verify"})
    assert response.status_code == 302
    done = entry(app, entry_id)
    assert (done.status, done.payment_status) == ("confirmed", "verified")
    history = card(text(staff.get(QUEUE)), entry_id)
    assert "entry.verified" in history or "verified" in history
    assert "You are in." in text(red.get(f"/account/registrations/{entry_id}"))


def test_bulk_verify_decides_every_ticked_entry(app, open_registration):
    staff = open_registration
    ids = []
    for i, name in enumerate(("alpha", "bravo", "charlie")):
        browser = captain(app, name)
        entry_id = register(browser, f"Team {name}")
        assert send_proof(browser, entry_id, f"TXN{i}AAAA").status_code == 302
        ids.append(entry_id)
    queue = text(staff.get(QUEUE))
    assert 'form="bulk-verify"' in queue and "Verify selected" in queue
    # Oldest proof first.
    assert (
        queue.index(f'id="entry-{ids[0]}"') < queue.index(f'id="entry-{ids[1]}"') < queue.index(f'id="entry-{ids[2]}"')
    )
    response = staff.client.post(
        f"{STAFF_URL}/registrations/verify", data={"csrf_token": staff.token, "entry": [str(ids[0]), str(ids[2])]}
    )
    assert response.status_code == 302
    assert [entry(app, i).status for i in ids] == ["confirmed", "pending_payment", "confirmed"]
    # Nothing ticked: a message, nothing changes.
    response = staff.post(f"{STAFF_URL}/registrations/verify", {})
    assert response.status_code == 400 and "Tick the registrations" in text(response)
    assert entry(app, ids[1]).status == "pending_payment"


def test_reject_with_reason_then_resubmit_keeps_earlier_proofs(app, open_registration):
    staff = open_registration
    blue = captain(app, "blue")
    entry_id = register(blue, "Blue Team")
    assert send_proof(blue, entry_id, "FIRST123").status_code == 302
    # A reason is required.
    response = staff.post(f"{STAFF_URL}/registrations/{entry_id}/decision", {"decision": "reject"})
    assert response.status_code == 400 and entry(app, entry_id).payment_status == "submitted"
    response = staff.post(
        f"{STAFF_URL}/registrations/{entry_id}/decision",
        {"decision": "reject", "reason": "No payment with this ID on our statement"},
    )
    assert response.status_code == 302
    assert entry(app, entry_id).payment_status == "rejected"
    page = text(blue.get(f"/account/registrations/{entry_id}"))
    assert "No payment with this ID on our statement" in page and "Send a corrected proof" in page
    assert send_proof(blue, entry_id, "SECOND456").status_code == 302
    page = text(blue.get(f"/account/registrations/{entry_id}"))
    assert "FIRST123" in page and "SECOND456" in page
    assert entry(app, entry_id).payment_status == "submitted"


def test_refund_goes_through_a_confirm_page(app, open_registration):
    staff = open_registration
    green = captain(app, "green")
    entry_id = register(green, "Green Team")
    send_proof(green, entry_id, "PAID7777")
    staff.post(f"{STAFF_URL}/registrations/{entry_id}/decision", {"decision": "verify"})
    # The captain withdraws: a confirm page first (no JS), or its block alone (htmx).
    confirm = green.get(f"/account/registrations/{entry_id}/withdraw")
    assert confirm.status_code == 200 and "cannot be undone" in text(confirm) and "<html" in text(confirm)
    fragment = green.get(f"/account/registrations/{entry_id}/withdraw", headers={"HX-Request": "true"})
    assert "cannot be undone" in text(fragment) and "<html" not in text(fragment)
    assert entry(app, entry_id).status == "confirmed"
    assert green.post(f"/account/registrations/{entry_id}/withdraw").status_code == 302
    assert entry(app, entry_id).status == "withdrawn"

    queue = text(staff.get(f"{QUEUE}?status=refund_requested"))
    refund_url = f"{STAFF_URL}/registrations/{entry_id}/refund"
    assert f'href="{refund_url}"' in card(queue, entry_id) and f'hx-get="{refund_url}"' in queue
    page = staff.get(refund_url)
    assert page.status_code == 200 and "cannot be undone" in text(page)
    assert '<label for="refund-reference-' in text(page)
    htmx = staff.get(refund_url, headers={"HX-Request": "true"})
    assert "<html" not in text(htmx) and "Refund Green Team" in text(htmx)
    assert entry(app, entry_id).payment_status == "verified"  # looking changes nothing
    response = staff.post(refund_url, {"reference": "RF0001"})
    assert response.status_code == 400 and entry(app, entry_id).payment_status == "verified"
    response = staff.post(refund_url, {"reference": "RF0001", "reason": "Team withdrew before the start"})
    assert response.status_code == 302
    assert entry(app, entry_id).payment_status == "refunded"
    with app.app_context():
        proof = db.session.scalar(db.select(PaymentProof).where(PaymentProof.entry_id == entry_id))
        assert (proof.status, proof.reference) == ("refunded", "RF0001")


def test_waive_and_approve_and_state_filter(app, open_registration):
    staff = open_registration
    gold = captain(app, "gold")
    entry_id = register(gold, "Gold Team")
    assert staff.post(f"{STAFF_URL}/registrations/{entry_id}/decision", {"decision": "waive"}).status_code == 302
    assert (entry(app, entry_id).status, entry(app, entry_id).payment_status) == ("confirmed", "waived")
    confirmed = text(staff.get(f"{QUEUE}?status=confirmed"))
    assert "Gold Team" in confirmed
    assert "Gold Team" not in text(staff.get(f"{QUEUE}?status=pending_payment"))
    assert staff.get(f"{QUEUE}?status=bogus").status_code == 400
    # A decision the state does not allow: the service's message, nothing changes.
    response = staff.post(f"{STAFF_URL}/registrations/{entry_id}/decision", {"decision": "approve"})
    assert response.status_code == 409 and "cannot be approved" in text(response)


def test_free_entries_awaiting_approval_are_approved(app, staff):
    free = {**SETTINGS, "fee": "0", "bkash": "", "nagad": "", "auto_confirm_free": ""}
    assert staff.post(f"{STAFF_URL}/registration", free).status_code == 302
    white = captain(app, "white")
    entry_id = register(white, "White Team")
    assert entry(app, entry_id).status == "awaiting_approval"
    assert "Approve" in card(text(staff.get(QUEUE)), entry_id)
    assert staff.post(f"{STAFF_URL}/registrations/{entry_id}/decision", {"decision": "approve"}).status_code == 302
    assert entry(app, entry_id).status == "confirmed"


def test_duplicate_transaction_id_is_flagged_on_both_rows(app, open_registration):
    staff = open_registration
    one, two, three = captain(app, "one"), captain(app, "two"), captain(app, "three")
    first, second, third = register(one, "Team One"), register(two, "Team Two"), register(three, "Team Three")
    send_proof(one, first, "SAME12345")
    send_proof(two, second, "same12345")
    send_proof(three, third, "OTHER999")
    queue = text(staff.get(QUEUE))
    for entry_id in (first, second):
        assert "Transaction ID also sent by" in card(queue, entry_id)
        assert 'class="is-duplicate"' in card(queue, entry_id)
    assert "used twice" not in card(queue, third)
    exported = list(csv.DictReader(io.StringIO(text(staff.get(f"{STAFF_URL}/registrations.csv")))))
    assert {row["team_name"]: row["duplicate_transaction"] for row in exported} == {
        "Team One": "yes",
        "Team Two": "yes",
        "Team Three": "",
    }


def test_csv_export_is_spreadsheet_safe(app, open_registration):
    staff = open_registration
    evil = captain(app, "evil")
    entry_id = register(evil, '=HYPERLINK("http://x.example","click")', "@T")
    send_proof(evil, entry_id, "CSV12345")
    response = staff.get(f"{STAFF_URL}/registrations.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="{SLUG}-registrations.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(text(response))))
    assert rows[0]["team_name"] == '\'=HYPERLINK("http://x.example","click")'
    assert rows[0]["tag"] == "'@T"
    assert (rows[0]["transaction_id"], rows[0]["amount"], rows[0]["status"]) == (
        "CSV12345",
        "500.00",
        "pending_payment",
    )
    assert rows[0]["code"] == entry(app, entry_id).code


def test_check_in_during_the_window(app, staff):
    starts = (utcnow() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    settings = {**SETTINGS, "starts_at": starts, "check_in_minutes": "60"}
    assert staff.post(f"{STAFF_URL}/registration", settings).status_code == 302
    black = captain(app, "black")
    entry_id = register(black, "Black Team")
    staff.post(f"{STAFF_URL}/registrations/{entry_id}/decision", {"decision": "waive"})
    page = text(black.get(f"/account/registrations/{entry_id}"))
    assert "Check in now" in page
    assert black.post(f"/account/registrations/{entry_id}/check-in").status_code == 302
    assert entry(app, entry_id).checked_in_at is not None
    assert "Check in now" not in text(black.get(f"/account/registrations/{entry_id}"))


def test_captain_hands_teammates_a_join_code(app, open_registration):
    red = captain(app, "capt")
    entry_id = register(red, "Join Team")
    page = red.post(f"/account/registrations/{entry_id}/join-code")
    assert page.status_code == 200
    code = re.search(r'<code id="join-code">([A-Z0-9-]+)</code>', text(page)).group(1)
    mate = captain(app, "mate")
    assert mate.post("/account/teams", {"code": code}).status_code == 302
    # The teammate sees the registration, without the captain's forms.
    mate_page = text(mate.get(f"/account/registrations/{entry_id}"))
    assert "Join Team" in mate_page and "Send your payment proof" not in mate_page
    assert mate.post(f"/account/registrations/{entry_id}/withdraw").status_code == 404
    assert entry(app, entry_id).status == "pending_payment"
    # Someone else's registration does not exist for a stranger.
    assert captain(app, "stranger").get(f"/account/registrations/{entry_id}").status_code == 404


def test_full_tournament_offers_the_waiting_list(app, staff):
    assert staff.post(f"{STAFF_URL}/registration", {**SETTINGS, "capacity": "1"}).status_code == 302
    register(captain(app, "first"), "First Team")
    public = text(app.test_client().get(f"/tournaments/{SLUG}/"))
    assert slots(public) == "All 1 slots taken" and "Join the waiting list" in public
    late = captain(app, "late")
    entry_id = register(late, "Late Team")
    assert entry(app, entry_id).status == "waitlisted"
    assert "waiting list (number 1)" in text(late.get(f"/account/registrations/{entry_id}"))


def test_queue_and_captain_pages_are_keyboard_usable(app, open_registration):
    staff = open_registration
    amber = captain(app, "amber")
    entry_id = register(amber, "Amber Team")
    for html in (
        text(staff.get(QUEUE)),
        text(staff.get(f"{STAFF_URL}/registration")),
        text(amber.get(f"/account/registrations/{entry_id}")),
        text(amber.get(f"/tournaments/{SLUG}/register")),
    ):
        # Every visible control has a label: <label for=id> or a wrapping <label>.
        for tag in re.finditer(r"<(input|select|textarea)\b([^>]*)>", html):
            attrs = tag.group(2)
            if 'type="hidden"' in attrs:
                continue
            control_id = re.search(r'\bid="([^"]+)"', attrs)
            labelled = control_id and f'for="{control_id.group(1)}"' in html
            wrapped = re.search(r"<label[^>]*>[^<]*<" + tag.group(1) + r"\b" + re.escape(attrs), html)
            assert labelled or wrapped, f"unlabelled control: {tag.group(0)}"
        # Actions are real buttons or links, never clickable <div>s/<span>s.
        assert "onclick" not in html and 'role="button"' not in html
    send_proof(amber, entry_id, "KEY12345")
    queue = text(staff.get(QUEUE))
    assert re.search(r'<button type="submit"[^>]*>Verify<span class="visually-hidden"> Amber Team', queue)
    assert '<label class="pick"><input type="checkbox" form="bulk-verify" name="entry"' in queue


def test_invited_teams_can_still_be_added_directly(app, open_registration):
    staff = open_registration
    response = staff.post(f"{STAFF_URL}/participants", {"name": "Invited Stars", "key": "", "tag": ""})
    assert response.status_code == 302
    assert "Invited Stars" in text(staff.get(f"{STAFF_URL}/"))
    assert f'href="{QUEUE}"' in text(staff.get(f"{STAFF_URL}/"))  # the Registrations tab


def test_public_block_counts_down_and_closes(app, staff, tournament_id):
    opens = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    assert staff.post(f"{STAFF_URL}/registration", {**SETTINGS, "opens_at": opens}).status_code == 302
    public = text(app.test_client().get(f"/tournaments/{SLUG}/"))
    assert "Opens in 3 days" in public and "Register a team" not in public
    assert app.test_client().get(f"/tournaments/{SLUG}/register").status_code == 302  # log in first
    early = captain(app, "early")
    response = early.post(f"/tournaments/{SLUG}/register", {"team_name": "Too Early"})
    assert response.status_code == 409
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Entry.id))) == 0
        # Live: registration is over whatever the dates say.
        from app.models import Tournament

        db.session.get(Tournament, tournament_id).status = "live"
        db.session.commit()
    public = text(app.test_client().get(f"/tournaments/{SLUG}/"))
    assert "Registration is closed" in public and 'aria-disabled="true">Closed<' in public


def test_no_registration_block_without_settings(app, tournament_id):
    public = text(app.test_client().get(f"/tournaments/{SLUG}/"))
    assert "registration-block" not in public


def test_bulk_verify_names_the_entries_it_could_not_verify(app, open_registration):
    staff = open_registration
    paid, unpaid = captain(app, "paid"), captain(app, "unpaid")
    paid_id, unpaid_id = register(paid, "Paid Team"), register(unpaid, "Unpaid Team")
    send_proof(paid, paid_id, "BULK12345")
    response = staff.client.post(
        f"{STAFF_URL}/registrations/verify",
        data={"csrf_token": staff.token, "entry": [str(paid_id), str(unpaid_id)]},
        follow_redirects=True,
    )
    html = text(response)
    assert "Verified 1 registration: Paid Team." in html
    assert "Not verified: Unpaid Team (pending payment, payment none)" in html
    assert (entry(app, paid_id).status, entry(app, unpaid_id).status) == ("confirmed", "pending_payment")


def test_queue_reads_the_same_number_of_statements_for_one_card_or_many(app, open_registration):
    """The queue shows a roster and a history under every card; reading them per card made a
    200-entry queue 200 round trips each."""
    from sqlalchemy import event

    staff = open_registration
    last_seen: list[str] = []

    def statements_for_queue() -> tuple[int, str]:
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            html = text(staff.get(QUEUE))
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        last_seen[:] = seen
        return len(seen), html

    first = captain(app, "solo")
    first_id = register(first, "Team solo")
    assert send_proof(first, first_id, "TXNSOLO1").status_code == 302
    one, html = statements_for_queue()
    assert "TXNSOLO1" in card(html, first_id)
    ids = [first_id]
    for i, name in enumerate(("delta", "echo", "foxtrot")):
        browser = captain(app, name)
        entry_id = register(browser, f"Team {name}")
        assert send_proof(browser, entry_id, f"TXNQ{i}BBBB").status_code == 302
        ids.append(entry_id)
    many, html = statements_for_queue()
    assert many == one, last_seen
    for entry_id in ids:
        history = card(html, entry_id)
        assert "registration.created" in history or "Registered" in history or "registered" in history
