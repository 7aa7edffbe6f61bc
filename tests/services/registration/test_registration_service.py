"""Registration and entry fees through the service (app/services/registration/entries.py): the lifecycle,
capacity and the waiting list, deadlines and check-in with a controlled clock, refunds, and
the events each step owes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.extensions import db
from app.models import (
    AuditEvent,
    Entry,
    Participant,
    Payment,
    PaymentProof,
    PaymentVerification,
    Registration,
    Tournament,
    User,
    utcnow,
)
from app.notifications.models import OutboxEvent
from app.services.accounts import players
from app.services.registration import decisions, entries, public_view, settings_save, timed_steps
from app.services.registration import records as entry_records
from app.services.registration import settings as registration_settings
from app.services.standings.leaderboard import LeaderboardService
from app.services.tournaments import states
from app.services.tournaments.file import export_tournament
from tests.factories import br_tournament

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
START = NOW + timedelta(days=3)
CLOSES = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)  # the settings' closes_at
FEE = {"amount": "500.00", "currency": "BDT"}
METHODS = [{"name": "bkash", "instructions": "bKash merchant 01700000000, reference = your code"}]


def _user(email: str, staff: bool = False) -> int:
    user = User(email=email, display_name=email.split("@")[0], is_staff=staff)
    user.set_password("password 12345")
    db.session.add(user)
    db.session.commit()
    return user.id


@pytest.fixture
def ctx(app):
    with app.app_context():
        tournament = br_tournament("reg-cup", status="registration", teams=("invited",))
        db.session.commit()
        staff = _user("org@example.com", staff=True)
        yield {"tid": tournament.id, "staff": staff}


def _settings(ctx, **overrides):
    payload = {
        "opens_at": "2026-11-30T00:00:00Z",
        "closes_at": "2026-12-04T00:00:00Z",
        "starts_at": START.isoformat().replace("+00:00", "Z"),
        "capacity": 2,
        "roster_min": 1,
        "roster_max": 4,
        "fee": FEE,
        "methods": METHODS,
        "payment_deadline_hours": 48,
        "auto_confirm_free": True,
        "check_in_minutes": None,
        **overrides,
    }
    return settings_save.save_settings(ctx["tid"], payload, ctx["staff"], now=NOW)


def _captain(n: int) -> int:
    return _user(f"captain{n}@example.com")


def _events(type_: str) -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.type == type_).order_by(OutboxEvent.id)))


def _pay(entry, captain, txn="TXN1000", amount="500.00", now=NOW):
    return entries.submit_proof(entry.id, captain, method="bkash", transaction_id=txn, amount=amount, now=now)


def test_paid_flow_register_submit_reject_resubmit_verify(ctx):
    _settings(ctx)
    captain = _captain(1)
    entry = entries.register(ctx["tid"], captain, "Team Phoenix", "PHX", now=NOW)
    assert entry.status == "pending_payment" and entry.payment_status == "none"
    assert entry.payment_deadline == NOW + timedelta(hours=48)
    assert len(entry.code) == 6 and all(c in players.CODE_ALPHABET for c in entry.code)

    _pay(entry, captain, txn="abc123")
    assert entry.payment_status == "submitted"
    with pytest.raises(Conflict, match="awaiting"):
        _pay(entry, captain, txn="abc124")

    later = NOW + timedelta(hours=47)
    decisions.decide(entry.id, "reject", ctx["staff"], reason="amount not received", now=later)
    entry = db.session.get(Entry, entry.id)
    assert (entry.status, entry.payment_status) == ("pending_payment", "rejected")
    # Rejected near the deadline: the team gets a fresh deadline to pay again, but never past the
    # registration close (issue 26).
    assert entry.payment_deadline == min(later + timedelta(hours=48), CLOSES)

    _pay(entry, captain, txn="XYZ999", now=later + timedelta(hours=1))
    proofs = entry_records.proofs_of(entry.id)
    assert [(p.transaction_id, p.status) for p in proofs] == [("ABC123", "rejected"), ("XYZ999", "submitted")]

    decisions.decide(entry.id, "verify", ctx["staff"], now=later + timedelta(hours=2))
    entry = db.session.get(Entry, entry.id)
    assert (entry.status, entry.payment_status) == ("confirmed", "verified")
    payment = db.session.get(Payment, entry.payment_id)
    assert (payment.status, payment.amount_cents, payment.method, payment.reference) == (
        "verified",
        50000,
        "bkash",
        "XYZ999",
    )
    assert payment.registration.user_id == captain
    assert [v.status for v in db.session.scalars(select(PaymentVerification))] == ["verified"]

    verified = _events("payment.verified")
    assert len(verified) == 1 and verified[0].data["payment_id"] == payment.id
    assert verified[0].data["registration_id"] == entry.id  # the entry, as in every event and the API
    assert set(verified[0].data) == {
        "payment_id",
        "registration_id",
        "roster_registration_id",
        "tournament_id",
        "tournament_slug",
        "participant_id",
        "participant_name",
        "status",
    }
    assert [e.type for e in db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))] == [
        "payment.submitted",
        "payment.rejected",
        "payment.submitted",
        "registration.confirmed",
        "payment.verified",
    ]
    actions = [e.action for e in entry_records.history_of(entry.id)]
    assert actions == [
        "entry.registered",
        "entry.proof_submitted",
        "entry.proof_rejected",
        "entry.proof_submitted",
        "entry.verified",
    ]


def test_event_data_is_pii_free(ctx):
    _settings(ctx)
    captain = _captain(1)
    entry = entries.register(ctx["tid"], captain, "Team Phoenix", "PHX", now=NOW)
    _pay(entry, captain, txn="SECRETTXN42", amount="512.50")
    decisions.decide(entry.id, "reject", ctx["staff"], reason="wrong account", now=NOW)
    entries.withdraw(entry.id, captain, now=NOW)
    forbidden = ["SECRETTXN42", "512", "bkash", "captain1", "@example.com", "wrong account", "500"]
    events = list(db.session.scalars(select(OutboxEvent)))
    assert {e.type for e in events} == {"payment.submitted", "payment.rejected", "registration.cancelled"}
    for event in events:
        text = repr(event.data)
        for word in forbidden:
            assert word.lower() not in text.lower(), (event.type, word, text)
        assert event.data["registration_id"] == entry.id
        assert event.data["team_name"] == "Team Phoenix"
        assert event.data["tournament_slug"] == "reg-cup"
    assert _events("registration.cancelled")[0].data["reason"] == "withdrawn"


def test_capacity_waitlist_and_deadline_promotion(ctx):
    _settings(ctx, capacity=1)
    c1, c2, c3 = _captain(1), _captain(2), _captain(3)
    first = entries.register(ctx["tid"], c1, "Alpha", None, now=NOW)
    second = entries.register(ctx["tid"], c2, "Bravo", None, now=NOW + timedelta(minutes=1))
    third = entries.register(ctx["tid"], c3, "Charlie", None, now=NOW + timedelta(minutes=2))
    assert [first.status, second.status, third.status] == ["pending_payment", "waitlisted", "waitlisted"]
    assert entry_records.to_row(second)["waitlist_position"] == 1
    assert entry_records.to_row(third)["waitlist_position"] == 2
    view = public_view.public_state(db.session.get(Tournament, ctx["tid"]), now=NOW)
    assert (view.state, view.taken, view.slots_left, view.waitlisted) == ("waitlist", 1, 0, 2)

    # Nothing is due before the deadline, and an idle tick takes no lock.
    lock_before = registration_settings.settings_for(ctx["tid"]).lock_version
    idle = {"cancelled": 0, "confirmed": 0, "no_show": 0, "offered": 0}
    assert timed_steps.run_timed_steps(NOW + timedelta(hours=47)) == idle
    assert registration_settings.settings_for(ctx["tid"]).lock_version == lock_before
    later = NOW + timedelta(hours=48)
    assert timed_steps.run_timed_steps(later) == {"cancelled": 1, "confirmed": 0, "no_show": 0, "offered": 1}
    first, second, third = (db.session.get(Entry, e.id) for e in (first, second, third))
    assert (first.status, first.end_reason) == ("cancelled", "deadline")
    assert second.status == "pending_payment" and second.payment_deadline == min(later + timedelta(hours=48), CLOSES)
    assert entry_records.to_row(third)["waitlist_position"] == 1
    cancelled = _events("registration.cancelled")
    assert [e.data["reason"] for e in cancelled] == ["deadline"]
    # The cancelled team's name and captain are free again.
    again = entries.register(ctx["tid"], c1, "alpha", None, now=later)
    assert again.status == "waitlisted"


def test_proof_awaiting_a_decision_stops_the_clock(ctx):
    _settings(ctx, capacity=1)
    captain = _captain(1)
    entry = entries.register(ctx["tid"], captain, "Alpha", None, now=NOW)
    _pay(entry, captain, now=NOW + timedelta(hours=1))
    timed_steps.run_timed_steps(NOW + timedelta(hours=100))
    assert db.session.get(Entry, entry.id).status == "pending_payment"
    decisions.decide(entry.id, "reject", ctx["staff"], reason="no", now=NOW + timedelta(hours=100))
    with pytest.raises(Conflict, match="deadline"):
        _pay(entry, captain, txn="TXN2000", now=NOW + timedelta(hours=200))
    timed_steps.run_timed_steps(NOW + timedelta(hours=148))
    assert db.session.get(Entry, entry.id).status == "cancelled"


def test_one_team_per_player_and_names_once(ctx):
    _settings(ctx, capacity=5)
    c1, c2 = _captain(1), _captain(2)
    entry = entries.register(ctx["tid"], c1, "Alpha", None, now=NOW)
    with pytest.raises(Conflict, match="already on Alpha"):
        entries.register(ctx["tid"], c1, "Other", None, now=NOW)
    with pytest.raises(Conflict, match="already registered"):
        entries.register(ctx["tid"], c2, "  ALPHA ", None, now=NOW)
    with pytest.raises(Conflict, match="already registered"):
        entries.register(ctx["tid"], c2, "team invited", None, now=NOW)  # a team staff added directly
    # A teammate who joined with the join code cannot captain another team either.
    code = players.issue_join_code(entry.participant)
    db.session.commit()
    players.join_team(db.session.get(User, c2), code)
    with pytest.raises(Conflict, match="already on Alpha"):
        entries.register(ctx["tid"], c2, "Bravo", None, now=NOW)
    assert entry_records.entry_for_user(ctx["tid"], c2).id == entry.id
    assert [e.id for e in entry_records.entries_for_user(c2)] == [entry.id]


def test_registration_window_and_bad_input(ctx):
    captain = _captain(1)
    with pytest.raises(Conflict, match="does not take registrations"):
        entries.register(ctx["tid"], captain, "Alpha", None, now=NOW)
    _settings(ctx, opens_at="2026-12-02T00:00:00Z")
    with pytest.raises(Conflict, match="not open"):
        entries.register(ctx["tid"], captain, "Alpha", None, now=NOW)
    with pytest.raises(Conflict, match="not open"):
        entries.register(ctx["tid"], captain, "Alpha", None, now=datetime(2026, 12, 4, 1, tzinfo=UTC))
    for name, tag in [
        ("", None),
        ("   ", None),
        (None, None),
        ("x" * 201, None),
        ("ok\x00", None),
        ("ok", "t" * 21),
        ("ok", 5),
    ]:
        with pytest.raises(ValidationError):
            entries.register(ctx["tid"], captain, name, tag, now=datetime(2026, 12, 2, 1, tzinfo=UTC))
    with pytest.raises(NotFound):
        entries.register(999999, captain, "Alpha", None, now=NOW)
    with pytest.raises(PermissionDenied):
        entries.register(ctx["tid"], 424242, "Alpha", None, now=NOW)
    assert db.session.scalar(select(func.count(Entry.id))) == 0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": "8"}, "capacity"),
        ({"roster_min": 3, "roster_max": 2}, "roster_max"),
        ({"fee": {"amount": "-1"}}, "fee.amount"),
        ({"fee": {"amount": "1.234"}}, "fee.amount"),
        ({"fee": {"amount": "5", "currency": "taka"}}, "fee.currency"),
        ({"methods": []}, "methods"),
        ({"methods": [{"name": ""}]}, "methods\\[0\\].name"),
        ({"methods": [{"name": "bkash"}, {"name": "BKASH"}]}, "listed twice"),
        ({"opens_at": "yesterday"}, "opens_at"),
        ({"opens_at": "2026-12-01T00:00:00"}, "opens_at"),
        ({"closes_at": "2026-11-01T00:00:00Z"}, "closes_at"),
        ({"check_in_minutes": 30, "starts_at": None}, "starts_at"),
        ({"check_in_minutes": 0}, "check_in_minutes"),
        ({"payment_deadline_hours": True}, "payment_deadline_hours"),
        ({"auto_confirm_free": "yes"}, "auto_confirm_free"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_settings_refuse_bad_values(ctx, override, message):
    with pytest.raises(ValidationError, match=message):
        _settings(ctx, **override)
    assert registration_settings.settings_for(ctx["tid"]) is None


def test_settings_round_trip_and_capacity_changes(ctx):
    settings = _settings(ctx, capacity=2, fee={"amount": 500})
    data = registration_settings.settings_to_json(settings)
    assert data["fee"] == {"amount": "500.00", "currency": "BDT"}
    assert data["methods"] == METHODS and data["capacity"] == 2 and data["starts_at"] == "2026-12-04T10:00:00Z"
    c1, c2, c3 = _captain(1), _captain(2), _captain(3)
    entries.register(ctx["tid"], c1, "Alpha", None, now=NOW)
    entries.register(ctx["tid"], c2, "Bravo", None, now=NOW)
    waiting = entries.register(ctx["tid"], c3, "Charlie", None, now=NOW)
    with pytest.raises(Conflict, match="2 teams already hold a slot"):
        _settings(ctx, capacity=1)
    assert registration_settings.settings_for(ctx["tid"]).capacity == 2
    # A larger capacity offers the new slot to the waiting list at once.
    _settings(ctx, capacity=3)
    assert db.session.get(Entry, waiting.id).status == "pending_payment"
    events = [e for e in db.session.scalars(select(AuditEvent)) if e.action == "registration.settings_saved"]
    assert len(events) == 2


def test_free_entries_auto_confirm_and_roster_rule(ctx):
    _settings(ctx, fee={"amount": "0"}, methods=[], roster_min=2, roster_max=2, capacity=3)
    c1, c2, c3 = _captain(1), _captain(2), _captain(3)
    entry = entries.register(ctx["tid"], c1, "Alpha", None, now=NOW)
    # One player on a team that needs two: held, not confirmed, until the roster fills.
    assert entry.status == "awaiting_approval" and entry.payment_deadline == NOW + timedelta(hours=48)
    with pytest.raises(Conflict, match="has 1 player on its roster; this tournament needs exactly 2"):
        decisions.decide(entry.id, "approve", ctx["staff"], now=NOW)
    code = players.issue_join_code(entry.participant)
    db.session.commit()
    players.join_team(db.session.get(User, c2), code)
    # Two is the most this tournament allows: a third player is turned away at the door.
    with pytest.raises(Conflict, match="already has 2 players, the most this tournament allows"):
        players.join_team(db.session.get(User, _captain(9)), code)
    assert timed_steps.run_timed_steps(NOW + timedelta(minutes=5))["confirmed"] == 1
    assert db.session.get(Entry, entry.id).status == "confirmed"
    assert [e.data["status"] for e in _events("registration.confirmed")] == ["confirmed"]
    # An incomplete free team loses its slot at the deadline.
    lone = entries.register(ctx["tid"], c3, "Bravo", None, now=NOW)
    timed_steps.run_timed_steps(NOW + timedelta(hours=49))
    assert (db.session.get(Entry, lone.id).status, db.session.get(Entry, lone.id).end_reason) == (
        "cancelled",
        "deadline",
    )


def test_free_entry_with_staff_approval(ctx):
    _settings(ctx, fee={"amount": "0"}, methods=[], auto_confirm_free=False)
    captain = _captain(1)
    entry = entries.register(ctx["tid"], captain, "Alpha", None, now=NOW)
    assert entry.status == "awaiting_approval" and entry.payment_deadline is None
    timed_steps.run_timed_steps(NOW + timedelta(days=30))
    assert db.session.get(Entry, entry.id).status == "awaiting_approval"
    with pytest.raises(Conflict):
        decisions.decide(entry.id, "verify", ctx["staff"], now=NOW)
    decisions.decide(entry.id, "approve", ctx["staff"], now=NOW)
    assert db.session.get(Entry, entry.id).status == "confirmed"
    with pytest.raises(Conflict, match="is confirmed \\(payment none\\); it cannot be rejected"):
        decisions.decide(entry.id, "reject", ctx["staff"], reason="changed our mind", now=NOW)
    other = entries.register(ctx["tid"], _captain(2), "Bravo", None, now=NOW)
    decisions.decide(other.id, "reject", ctx["staff"], reason="not eligible", now=NOW)
    other = db.session.get(Entry, other.id)
    assert (other.status, other.end_reason) == ("rejected", "rejected")
    assert _events("registration.cancelled")[-1].data["reason"] == "rejected"


def test_free_auto_confirm_at_once_with_roster_of_one(ctx):
    _settings(ctx, fee={"amount": "0"}, methods=[])
    entry = entries.register(ctx["tid"], _captain(1), "Alpha", None, now=NOW)
    assert entry.status == "confirmed" and entry.payment_status == "none"


def test_withdraw_verified_entry_becomes_refund_request(ctx):
    _settings(ctx, capacity=1)
    c1, c2 = _captain(1), _captain(2)
    entry = entries.register(ctx["tid"], c1, "Alpha", None, now=NOW)
    waiting = entries.register(ctx["tid"], c2, "Bravo", None, now=NOW)
    _pay(entry, c1)
    decisions.decide(entry.id, "verify", ctx["staff"], now=NOW)
    with pytest.raises(Conflict, match="still holds its slot"):
        decisions.decide(entry.id, "refund", ctx["staff"], reason="asked", now=NOW)
    with pytest.raises(NotFound):
        entries.withdraw(entry.id, c2, now=NOW)  # not the captain
    entries.withdraw(entry.id, c1, now=NOW + timedelta(hours=1))
    entry = db.session.get(Entry, entry.id)
    assert (entry.status, entry.payment_status) == ("withdrawn", "verified")
    assert [e.id for e in entry_records.queue(ctx["tid"], "refund_requested")] == [entry.id]
    assert db.session.get(Entry, waiting.id).status == "pending_payment"  # slot offered
    # The captain's paid registration stays for the refund; the participant is hidden.
    assert db.session.scalar(select(func.count(Registration.id)).where(Registration.user_id == c1)) == 1
    with pytest.raises(ValidationError, match="reason"):
        decisions.decide(entry.id, "refund", ctx["staff"], now=NOW)
    decisions.decide(entry.id, "refund", ctx["staff"], reason="withdrew in time", reference="BK-REF-1", now=NOW)
    entry = db.session.get(Entry, entry.id)
    assert entry.payment_status == "refunded"
    assert db.session.get(Payment, entry.payment_id).status == "refunded"
    assert entry_records.proofs_of(entry.id)[0].reference == "BK-REF-1"
    assert [e.type for e in _events("payment.refunded")] == ["payment.refunded"]
    with pytest.raises(Conflict):
        entries.withdraw(entry.id, c1, now=NOW)


def test_a_refund_from_the_payments_tab_shows_on_the_registration_too(ctx):
    from app.services.registration import payments

    _settings(ctx)
    captain = _captain(1)
    entry = entries.register(ctx["tid"], captain, "Alpha", None, now=NOW)
    _pay(entry, captain)
    decisions.decide(entry.id, "verify", ctx["staff"], now=NOW)
    payment_id = db.session.get(Entry, entry.id).payment_id
    payments.refund_payment(payment_id, ctx["staff"], "paid twice by mistake")
    entry = db.session.get(Entry, entry.id, populate_existing=True)
    assert entry.payment_status == "refunded" and entry_records.to_row(entry)["payment_status"] == "refunded"


def test_withdraw_after_start_is_refused(ctx):
    _settings(ctx)
    captain = _captain(1)
    entry = entries.register(ctx["tid"], captain, "Alpha", None, now=NOW)
    with pytest.raises(Conflict, match="started"):
        entries.withdraw(entry.id, captain, now=START)


def test_check_in_no_show_and_promotion(ctx):
    _settings(ctx, capacity=2, check_in_minutes=60)
    c1, c2, c3 = _captain(1), _captain(2), _captain(3)
    a = entries.register(ctx["tid"], c1, "Alpha", None, now=NOW)
    b = entries.register(ctx["tid"], c2, "Bravo", None, now=NOW)
    w = entries.register(ctx["tid"], c3, "Charlie", None, now=NOW)
    for entry in (a, b):
        decisions.decide(entry.id, "waive", ctx["staff"], reason="sponsor", now=NOW)
    with pytest.raises(Conflict, match="check-in is open from 2026-12-04T09:00:00Z"):
        entries.check_in(a.id, c1, now=START - timedelta(minutes=61))
    with pytest.raises(Conflict, match="only confirmed"):
        entries.check_in(w.id, c3, now=START - timedelta(minutes=30))
    entries.check_in(a.id, c1, now=START - timedelta(minutes=30))
    entries.check_in(a.id, c1, now=START - timedelta(minutes=20))  # twice: nothing changes
    assert timed_steps.run_timed_steps(START - timedelta(seconds=1))["no_show"] == 0
    counts = timed_steps.run_timed_steps(START)
    assert counts["no_show"] == 1 and counts["offered"] == 1
    a, b, w = (db.session.get(Entry, e.id) for e in (a, b, w))
    assert (a.status, a.checked_in_at) == ("confirmed", START - timedelta(minutes=30))
    assert (b.status, b.end_reason) == ("no_show", "no_show")
    assert w.status == "pending_payment"
    assert _events("registration.cancelled")[-1].data["reason"] == "no_show"
    # The next tick does not mark the promoted team a no-show for a window it never had.
    assert timed_steps.run_timed_steps(START + timedelta(minutes=1))["no_show"] == 0


def test_unconfirmed_teams_are_hidden_from_standings(ctx):
    _settings(ctx, capacity=2)
    c1, c2 = _captain(1), _captain(2)
    a = entries.register(ctx["tid"], c1, "Alpha", None, now=NOW)
    b = entries.register(ctx["tid"], c2, "Bravo", None, now=NOW)
    decisions.decide(a.id, "waive", ctx["staff"], reason="invited", now=NOW)
    exported = export_tournament("reg-cup")
    assert [p["name"] for p in exported["participants"]] == ["Team invited", "Alpha"]
    # Staff cannot enter results for a team whose entry is not confirmed.
    bravo_key = db.session.get(Entry, b.id).participant.key
    lobby = {"key": "m1", "state": "completed", "results": [{"participant": bravo_key, "placement": 1, "kills": 0}]}
    with pytest.raises(ValidationError, match="unknown participant"):
        states.record_br_match(ctx["tid"], lobby, ctx["staff"])
    db.session.get(Tournament, ctx["tid"]).status = "live"
    db.session.commit()
    LeaderboardService.complete_tournament(ctx["tid"], ctx["staff"])
    finals = {row["participant_id"] for row in LeaderboardService.results(ctx["tid"])}
    assert finals == {"invited", db.session.get(Entry, a.id).participant.key}


def test_duplicate_transaction_ids_are_flagged(ctx):
    _settings(ctx, capacity=3)
    c1, c2, c3 = _captain(1), _captain(2), _captain(3)
    a = entries.register(ctx["tid"], c1, "Alpha", None, now=NOW)
    b = entries.register(ctx["tid"], c2, "Bravo", None, now=NOW)
    c = entries.register(ctx["tid"], c3, "Charlie", None, now=NOW)
    _pay(a, c1, txn="dup-1")
    _pay(b, c2, txn="DUP-1")
    _pay(c, c3, txn="UNIQUE-1")
    assert entry_records.duplicate_transaction_entry_ids(ctx["tid"]) == {a.id, b.id}


def test_queue_order_and_bulk_verify(ctx):
    _settings(ctx, capacity=4)
    caps = [_captain(n) for n in range(4)]
    rows = [entries.register(ctx["tid"], c, f"Team {n}", None, now=NOW) for n, c in enumerate(caps)]
    _pay(rows[2], caps[2], txn="TX2", now=NOW + timedelta(minutes=1))
    _pay(rows[0], caps[0], txn="TX0", now=NOW + timedelta(minutes=2))
    assert [e.id for e in entry_records.queue(ctx["tid"])][:2] == [rows[2].id, rows[0].id]
    assert {e.id for e in entry_records.queue(ctx["tid"], "proof_submitted")} == {rows[0].id, rows[2].id}
    with pytest.raises(ValidationError, match="status"):
        entry_records.queue(ctx["tid"], "nonsense")
    decided = decisions.decide_many([rows[0].id, rows[1].id, rows[2].id], "verify", ctx["staff"])
    assert sorted(e.id for e in decided) == [rows[0].id, rows[2].id]
    assert db.session.get(Entry, rows[1].id).status == "pending_payment"
    with pytest.raises(Conflict):
        decisions.decide_many([rows[1].id], "verify", ctx["staff"])
    with pytest.raises(ValidationError):
        decisions.decide_many([], "verify", ctx["staff"])


def test_decisions_need_staff_and_valid_input(ctx):
    _settings(ctx)
    captain = _captain(1)
    entry = entries.register(ctx["tid"], captain, "Alpha", None, now=NOW)
    with pytest.raises(PermissionDenied):
        decisions.decide(entry.id, "waive", captain)
    with pytest.raises(ValidationError, match="decision"):
        decisions.decide(entry.id, "accept", ctx["staff"])
    with pytest.raises(ValidationError, match="reason"):
        decisions.decide(entry.id, "reject", ctx["staff"], reason="  ")
    with pytest.raises(NotFound):
        decisions.decide(2**40, "waive", ctx["staff"])
    for bad in [
        {"method": "paypal"},
        {"transaction_id": "x"},
        {"transaction_id": "has space"},
        {"amount": "abc"},
        {"amount": "400"},
        {"amount": -5},
        {"sender_last_digits": "12ab"},
    ]:
        kwargs = {"method": "bkash", "transaction_id": "TXN1", "amount": "500", **bad}
        with pytest.raises(ValidationError):
            entries.submit_proof(entry.id, captain, now=NOW, **kwargs)
    assert db.session.scalar(select(func.count(PaymentProof.id))) == 0
    assert db.session.get(Entry, entry.id).status == "pending_payment"


def test_can_view_proof(ctx):
    _settings(ctx)
    c1, c2 = _captain(1), _captain(2)
    entry = entries.register(ctx["tid"], c1, "Alpha", None, now=NOW)
    _pay(entry, c1)
    proof = entry_records.proofs_of(entry.id)[0]
    assert entry_records.can_view_proof(db.session.get(User, c1), proof)
    assert entry_records.can_view_proof(db.session.get(User, ctx["staff"]), proof)
    assert not entry_records.can_view_proof(db.session.get(User, c2), proof)
    assert not entry_records.can_view_proof(None, proof)
    assert db.session.scalar(select(func.count(Participant.id)).where(Participant.name == "Alpha")) == 1


def _expired_entry(ctx) -> int:
    """A pending entry whose deadline passed a minute ago (real clock)."""
    _settings(ctx, opens_at=None, closes_at=None, starts_at=None)
    entry = entries.register(ctx["tid"], _captain(1), "Alpha", None)
    entry.payment_deadline = utcnow() - timedelta(minutes=1)
    db.session.commit()
    return entry.id


def test_worker_runs_the_timed_steps(app):
    # `flask worker` hands the timed steps to the worker (which imports no service), and runs
    # outside any app context of ours, as in production.
    with app.app_context():
        tournament = br_tournament("reg-cup", status="registration", teams=())
        db.session.commit()
        entry_id = _expired_entry({"tid": tournament.id, "staff": _user("org@example.com", staff=True)})
    result = app.test_cli_runner().invoke(args=["worker", "--until-idle"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Entry, entry_id).status == "cancelled"


def test_cli_tick_and_list(app, ctx):
    entry_id = _expired_entry(ctx)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["registrations", "list", "reg-cup"])
    assert listed.exit_code == 0 and "\tpending_payment\tnone\t-\tAlpha" in listed.output
    result = runner.invoke(args=["registrations", "tick"])
    assert result.exit_code == 0 and result.output.strip() == "cancelled=1 confirmed=0 no_show=0 offered=0"
    db.session.expire_all()
    assert db.session.get(Entry, entry_id).status == "cancelled"
    assert runner.invoke(args=["registrations", "tick", "--at", "2030-01-01T00:00:00Z"]).exit_code == 0
    bad = runner.invoke(args=["registrations", "tick", "--at", "soon"])
    assert bad.exit_code == 1 and "--at" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(args=["registrations", "list", "nope"])
    assert missing.exit_code == 1 and "no tournament" in missing.output
    wrong = runner.invoke(args=["registrations", "list", "reg-cup", "--status", "paid"])
    assert wrong.exit_code == 1 and "status" in wrong.output


def test_organiser_rename_reaches_the_entry_and_a_registered_team_is_not_removed_behind_its_entry(ctx):
    from app.services.tournaments import corrections

    _settings(ctx)
    entry = entries.register(ctx["tid"], _captain(1), "Old Name", "ON", now=NOW)
    key = db.session.get(Participant, entry.participant_id).key
    corrections.rename_participant(ctx["tid"], key, "New Name", "NN", ctx["staff"])
    entry = db.session.get(Entry, entry.id, populate_existing=True)
    assert (entry.team_name, entry.tag) == ("New Name", "NN")
    assert entry_records.to_row(entry)["team_name"] == "New Name"
    with pytest.raises(Conflict, match=f"holds registration {entry.code}"):
        corrections.remove_participant(ctx["tid"], key, ctx["staff"])
    assert db.session.get(Participant, entry.participant_id) is not None
    entries.withdraw(entry.id, entry.captain_id, now=NOW)
    corrections.remove_participant(ctx["tid"], key, ctx["staff"])
    assert db.session.scalar(select(func.count(Participant.id)).where(Participant.key == key)) == 0


def test_before_the_first_result_the_page_lists_confirmed_teams_only(ctx, client):
    """Teams at 0 before any result: an invited team and a confirmed registration, not a team
    still paying or waiting."""
    _settings(ctx, capacity=2)
    paid, unpaid = _captain(1), _captain(2)
    confirmed = entries.register(ctx["tid"], paid, "Alpha", None, now=NOW)
    entries.register(ctx["tid"], unpaid, "Bravo", None, now=NOW)
    _pay(confirmed, paid)
    decisions.decide(confirmed.id, "verify", ctx["staff"], now=NOW)
    rows = client.get("/tournaments/reg-cup/standings.json").get_json()
    assert sorted(row["participant_name"] for row in rows) == ["Alpha", "Team invited"]
    csv = client.get("/tournaments/reg-cup/standings.csv").get_data(as_text=True)
    assert "Alpha" in csv and "Bravo" not in csv
