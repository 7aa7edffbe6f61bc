"""Issue 26, a paid event day as a new organiser ran it: who is in the event (one rule for every
staff list, the grid, results, standings and exports), payment deadlines that never outlive the
event, payment instructions only for teams that must pay, one row order in the lobby grids,
check-in for staff, and the smaller fixes (flash sentences, method names, transaction IDs used
twice or split in two, the next lobby's stage, lobby result links, the audit actor filter)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.errors import ValidationError
from app.extensions import db
from app.models import AuditEvent, Entry, MatchResult, PaymentProof, Tournament, User, utcnow
from app.services.registration import decisions, entries, settings_save
from app.services.registration import records as entry_records
from app.services.standings.engine import br_standings
from app.services.tournaments import setup as tournament_setup
from app.services.tournaments import states
from app.services.tournaments.file import export_tournament
from tests import factories as f
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, create_user
from tests.web.players.test_registration_portal import Browser, text

SLUG = "ff-day"
URL = f"/staff/tournaments/{SLUG}"
FEE = {"amount": "300.00", "currency": "BDT"}
METHODS = [
    {"name": "bkash", "instructions": "bKash merchant 01700000000"},
    {"name": "nagad", "instructions": "Nagad personal 01800000000"},
]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _user(email: str, staff: bool = False) -> int:
    user = User(email=email, display_name=email.split("@")[0], is_staff=staff)
    user.set_password("password 12345")
    db.session.add(user)
    db.session.commit()
    return user.id


def _settings(tid: int, staff: int, now: datetime, **overrides):
    payload = {
        "opens_at": None,
        "closes_at": _iso(now + timedelta(days=2)),
        "starts_at": _iso(now + timedelta(days=3)),
        "capacity": 4,
        "roster_min": 1,
        "roster_max": 4,
        "fee": FEE,
        "methods": METHODS,
        "payment_deadline_hours": 48,
        "auto_confirm_free": True,
        "check_in_minutes": None,
        **overrides,
    }
    return settings_save.save_settings(tid, payload, staff, now=now)


@pytest.fixture
def event(app):
    """A live-ready Free Fire event: an invited team, a confirmed registered team and a registered
    team whose entry was rejected (its Participant still exists)."""
    with app.app_context():
        t = f.br_tournament(SLUG, preset="ffws", status="registration", teams=("invited",))
        db.session.commit()
        staff = create_user(app, STAFF_EMAIL, STAFF_PASSWORD, staff=True)
        now = utcnow()
        _settings(t.id, staff, now)
        ok = _user("ok@example.com")
        bad = _user("bad@example.com")
        good = entries.register(t.id, ok, "Team Good", "GD", now=now)
        decisions.decide(good.id, "waive", staff, reason="sponsor")
        out = entries.register(t.id, bad, "Team Copycat", "CC", now=now)
        decisions.decide(out.id, "reject", staff, reason="copied transaction ID")
        ids = {
            "tid": t.id,
            "staff": staff,
            "good": good.id,
            "out": out.id,
            "good_key": db.session.get(Entry, good.id).participant.key,
            "out_key": db.session.get(Entry, out.id).participant.key,
        }
        assert db.session.get(Entry, out.id).status == "rejected"
        return ids


@pytest.fixture
def staff(app, event):
    return Browser(app, STAFF_EMAIL, STAFF_PASSWORD)


def _row_keys(html: str) -> list[str]:
    return re.findall(r'name="rows-\d+-participant" value="([^"]+)"', html)


# --------------------------------------------------------------------------- 1. who is in the event


def test_rejected_team_is_left_out_of_every_staff_list_and_the_grid(app, event, staff):
    overview = text(staff.get(f"{URL}/"))
    assert "Team Good" in overview and "Participants (2)" in overview
    assert "Team Copycat" not in overview  # not in the participants, nor in the penalty team list
    assert re.search(r"1 registered\s+team is not", overview)
    grid = text(staff.get(f"{URL}/lobbies/new"))
    assert _row_keys(grid) == ["invited", event["good_key"]]
    dashboard = text(staff.get("/staff/"))
    assert re.search(r'Ff Day.*?<td class="num">2</td>', dashboard, re.S)
    with app.app_context():
        assert len(br_standings(event["tid"])) == 0


def test_results_and_penalties_for_a_team_out_of_the_event_are_refused(app, event, staff):
    rows = {
        "stage": "",
        "state": "completed",
        "rows-0-participant": event["out_key"],
        "rows-0-placement": "1",
        "rows-0-kills": "3",
    }
    response = staff.post(f"{URL}/lobbies/new", rows)
    assert response.status_code == 400 and "not one of this tournament" in text(response)
    with app.app_context():
        with pytest.raises(ValidationError, match="results"):
            states.record_br_match(
                event["tid"],
                {"results": [{"participant": event["out_key"], "placement": 1, "kills": 0}]},
                event["staff"],
            )
        db.session.rollback()
        with pytest.raises(ValidationError, match="participant"):
            tournament_setup.add_adjustment(event["tid"], event["out_key"], -5, "late", event["staff"])
        db.session.rollback()
        assert db.session.scalar(select(db.func.count(MatchResult.id))) == 0


def test_standings_and_export_leave_out_a_team_whose_entry_ended_after_it_played(app, event):
    with app.app_context():
        t = db.session.get(Tournament, event["tid"])
        # A lobby recorded while it still counted (or before this rule): it stays stored.
        f.lobby(t, [(event["out_key"], 1, 9), (event["good_key"], 2, 1), ("invited", 3, 0)])
        db.session.commit()
        rows = br_standings(event["tid"])
        assert [r["participant_id"] for r in rows] == [event["good_key"], "invited"]
        exported = export_tournament(SLUG)
        assert event["out_key"] not in {p["id"] for p in exported["participants"]}


# --------------------------------------------------------------------------- 2. payment deadlines

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def reg(app):
    with app.app_context():
        t = f.br_tournament("cap-cup", status="registration", teams=())
        db.session.commit()
        yield {"tid": t.id, "staff": _user("org@example.com", staff=True)}


def test_deadline_never_passes_the_registration_close(reg):
    closes = NOW + timedelta(hours=1)
    _settings(reg["tid"], reg["staff"], NOW, closes_at=_iso(closes), starts_at=_iso(NOW + timedelta(hours=2)))
    entry = entries.register(reg["tid"], _user("c1@example.com"), "Team One", "", now=NOW)
    assert entry.payment_deadline == closes


def test_waiting_list_offer_after_the_close_runs_until_the_start_at_most(reg):
    closes, starts = NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    _settings(reg["tid"], reg["staff"], NOW, capacity=1, closes_at=_iso(closes), starts_at=_iso(starts))
    first = entries.register(reg["tid"], _user("c1@example.com"), "Team One", "", now=NOW)
    second = entries.register(reg["tid"], _user("c2@example.com"), "Team Two", "", now=NOW)
    assert second.status == "waitlisted"
    later = closes + timedelta(minutes=10)
    decisions.decide(first.id, "reject", reg["staff"], reason="no payment", now=later)
    second = db.session.get(Entry, second.id)
    assert second.status == "pending_payment" and second.payment_deadline == starts
    from app.services.registration import deadlines

    assert "start of play" in deadlines.warning(second, entry_records_settings(reg["tid"]))


def entry_records_settings(tid):
    from app.services.registration.settings import settings_for

    return settings_for(tid)


def test_moving_the_close_earlier_brings_running_deadlines_forward(reg):
    _settings(reg["tid"], reg["staff"], NOW)
    entry = entries.register(reg["tid"], _user("c1@example.com"), "Team One", "", now=NOW)
    assert entry.payment_deadline == NOW + timedelta(hours=48)
    closes = NOW + timedelta(hours=5)
    _settings(reg["tid"], reg["staff"], NOW + timedelta(hours=1), closes_at=_iso(closes))
    assert db.session.get(Entry, entry.id).payment_deadline == closes


def test_rejected_proof_gets_a_fresh_deadline_capped_at_the_close(reg):
    closes = NOW + timedelta(hours=10)
    _settings(reg["tid"], reg["staff"], NOW, closes_at=_iso(closes))
    captain = _user("c1@example.com")
    entry = entries.register(reg["tid"], captain, "Team One", "", now=NOW)
    entries.submit_proof(entry.id, captain, method="bkash", transaction_id="TXN100", amount="300", now=NOW)
    decisions.decide(entry.id, "reject", reg["staff"], reason="not received", now=NOW + timedelta(hours=1))
    assert db.session.get(Entry, entry.id).payment_deadline == closes


def test_settings_form_says_what_the_deadline_will_be_and_queue_warns(app, event, staff):
    page = text(staff.get(f"{URL}/registration"))
    assert "A team registering now would have until" in page
    with app.app_context():
        entry = db.session.get(Entry, event["out"])
        settings = entry_records_settings(event["tid"])
        # An offer made after play started cannot be capped: staff are warned on the card.
        entry.status, entry.payment_deadline = "pending_payment", settings.starts_at + timedelta(hours=5)
        db.session.commit()
    queue = text(staff.get(f"{URL}/registrations/"))
    assert "is after play starts" in queue


# --------------------------------------------------------------------------- 5. who is told how to pay


@pytest.mark.parametrize("state", ["pending", "waitlisted", "rejected", "verified"])
def test_payment_instructions_only_for_a_team_that_must_pay(app, reg, state):
    with app.app_context():
        _settings(reg["tid"], reg["staff"], utcnow(), capacity=1 if state == "waitlisted" else 4)
        if state == "waitlisted":
            entries.register(reg["tid"], _user("first@example.com"), "Team First", "")
        create_user(app, "cap@example.com", "password 12345")
        captain = db.session.scalar(select(User.id).where(User.email == "cap@example.com"))
        entry = entries.register(reg["tid"], captain, "Team Cap", "")
        if state == "rejected":
            decisions.decide(entry.id, "reject", reg["staff"], reason="duplicate team")
        if state == "verified":
            entries.submit_proof(entry.id, captain, method="bkash", transaction_id="TXN555", amount="300")
            decisions.decide(entry.id, "verify", reg["staff"])
        entry_id = entry.id
    page = text(Browser(app, "cap@example.com", "password 12345").get(f"/account/registrations/{entry_id}"))
    told = "bKash merchant 01700000000" in page and "as the payment's reference" in page
    assert told == (state == "pending")


# --------------------------------------------------------------------------- 10. one row order


def test_correction_grid_orders_rows_like_the_entry_grid(app, event, staff):
    good = event["good_key"]
    rows = {
        "stage": "Day 1",
        "state": "completed",
        "rows-0-participant": "invited",
        "rows-0-placement": "2",
        "rows-0-kills": "0",
        "rows-1-participant": good,
        "rows-1-placement": "1",
        "rows-1-kills": "4",
    }
    assert staff.post(f"{URL}/lobbies/new", rows).status_code == 302
    with app.app_context():
        match_id = db.session.scalar(select(MatchResult.match_id))
    entry_grid = _row_keys(text(staff.get(f"{URL}/lobbies/new")))
    correction_grid = _row_keys(text(staff.get(f"{URL}/lobbies/{match_id}/edit")))
    assert correction_grid == entry_grid == ["invited", good]


# --------------------------------------------------------------------------- 14. check-in for staff


@pytest.fixture
def check_in_event(app, event):
    with app.app_context():
        now = utcnow()
        _settings(
            event["tid"],
            event["staff"],
            now,
            closes_at=_iso(now - timedelta(minutes=5)),
            starts_at=_iso(now + timedelta(minutes=30)),
            check_in_minutes=60,
        )
    return event


def test_staff_see_the_check_in_count_and_check_a_team_in_audited(app, check_in_event, staff):
    page = text(staff.get(f"{URL}/"))
    assert "Checked in: 0 of 1" in page and "Not checked in" in page
    assert "Not checked in" in text(staff.get(f"{URL}/registrations/"))
    response = staff.post(f"{URL}/registrations/{check_in_event['good']}/check-in")
    assert response.status_code == 302
    page = text(staff.get(f"{URL}/"))
    assert "Checked in: 1 of 1" in page and "Not checked in" not in page
    with app.app_context():
        assert db.session.get(Entry, check_in_event["good"]).checked_in_at is not None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "entry.checked_in_by_staff"))
        assert event is not None and event.actor_id == check_in_event["staff"]


def test_staff_check_in_refused_for_a_team_not_confirmed(app, check_in_event, staff):
    response = staff.post(f"{URL}/registrations/{check_in_event['out']}/check-in")
    assert response.status_code == 409 and "only confirmed teams check in" in text(response)


# --------------------------------------------------------------------------- 15. the smaller ones


def _paid_entry(app, reg_ids, email, txn, method="bkash", amount="300"):
    with app.app_context():
        captain = _user(email)
        entry = entries.register(reg_ids["tid"], captain, f"Team {email.split('@')[0]}", "")
        entries.submit_proof(entry.id, captain, method=method, transaction_id=txn, amount=amount)
        return entry.id


def test_verify_flash_is_a_sentence_and_method_names_are_spelled(app, event, staff):
    entry_id = _paid_entry(app, event, "payer@example.com", "TXN900")
    response = staff.post(f"{URL}/registrations/{entry_id}/decision", {"decision": "verify"})
    assert response.status_code == 302
    queue = text(staff.get(response.headers["Location"]))
    assert "verified: the team is confirmed." in queue and "verify done" not in queue
    payments = text(staff.get(f"{URL}/payments/"))
    assert "· bKash" in payments and "· bkash" not in payments


def test_transaction_id_used_twice_names_the_other_team_and_verifying_asks_first(app, event, staff):
    first = _paid_entry(app, event, "one@example.com", "DUP123")
    second = _paid_entry(app, event, "two@example.com", "DUP123")
    queue = text(staff.get(f"{URL}/registrations/"))
    assert "Transaction ID also sent by Team one (" in queue and "Transaction ID also sent by Team two (" in queue
    asked = staff.post(f"{URL}/registrations/{second}/decision", {"decision": "verify"})
    assert asked.status_code == 200 and "I checked: verify" in text(asked) and "Team one" in text(asked)
    with app.app_context():
        assert db.session.get(Entry, second).status == "pending_payment"
    done = staff.post(f"{URL}/registrations/{second}/decision", {"decision": "verify", "confirmed": "yes"})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Entry, second).status == "confirmed"
        assert db.session.get(Entry, first).status == "pending_payment"


def test_split_payment_is_one_proof_with_two_ids(app, event):
    from app.services.registration import transactions

    with app.app_context():
        assert transactions.clean_transaction_ids("ab12cd + EF34GH") == "AB12CD, EF34GH"
        assert transactions.sum_amounts("150 + 150") == "300.00"
        with pytest.raises(ValidationError):
            transactions.clean_transaction_ids("AB12CD, AB12CD")
    split = _paid_entry(app, event, "split@example.com", "SPL111, SPL222", amount="300")
    other = _paid_entry(app, event, "reuse@example.com", "SPL222")
    with app.app_context():
        proof = db.session.scalar(select(PaymentProof).where(PaymentProof.entry_id == split))
        assert (proof.transaction_id, proof.amount_cents) == ("SPL111, SPL222", 30000)
        assert entry_records.duplicate_transaction_entry_ids(event["tid"]) >= {split, other}


def test_split_payment_through_the_captain_form_and_the_api(app, event):
    with app.app_context():
        captain = _user("form@example.com")
        entry = entries.register(event["tid"], captain, "Team Form", "")
        entry_id = entry.id
    browser = Browser(app, "form@example.com", "password 12345")
    response = browser.post(
        f"/account/registrations/{entry_id}/proof",
        {"method": "nagad", "transaction_id": "NG1111, NG2222", "amount": "150 + 150"},
    )
    assert response.status_code == 302, text(response)
    with app.app_context():
        proof = db.session.scalar(select(PaymentProof).where(PaymentProof.entry_id == entry_id))
        assert (proof.transaction_id, proof.amount_cents, proof.method) == ("NG1111, NG2222", 30000, "nagad")
        decisions.decide(entry_id, "reject", event["staff"], reason="only one transfer arrived")
    # The corrected proof keeps "Paid with" as last time.
    page = text(browser.get(f"/account/registrations/{entry_id}"))
    assert re.search(r'<option selected value="nagad">|<option value="nagad" selected>', page)


def test_next_lobby_stage_is_prefilled_and_lobbies_link_to_their_results(app, event, staff):
    rows = {
        "stage": "Group A",
        "state": "completed",
        "rows-0-participant": "invited",
        "rows-0-placement": "1",
        "rows-0-kills": "2",
    }
    assert staff.post(f"{URL}/lobbies/new", rows).status_code == 302
    page = text(staff.get(f"{URL}/lobbies/new"))
    assert re.search(r'name="stage" type="text" value="Group A"', page)
    listing = text(staff.get(f"{URL}/lobbies/"))
    assert f'href="/tournaments/{SLUG}/?matches=m1"' in listing


def test_audit_actor_filter_lists_staff_not_players(app, event, staff):
    page = text(staff.get("/staff/audit"))
    options = re.findall(r'<option value="([^"]+@[^"]+)"', page)
    assert STAFF_EMAIL in options
    assert "ok@example.com" not in options and "bad@example.com" not in options
