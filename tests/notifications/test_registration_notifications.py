"""Who hears about registration news, what they read, and what webhook receivers get.

Driven through the entries service (the same calls the portal and the API make), then read back
from the inbox, the queued email deliveries (rendered as the worker would) and the outbox."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Entry, Notification, Tournament, User
from app.notifications import email as notification_email
from app.notifications.models import Delivery, OutboxEvent, WebhookEndpoint
from app.services.registration import decisions, entries, settings_save, timed_steps
from tests.conftest import create_user

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(make_app):
    app = make_app(
        NOTIFICATIONS_EMAIL_ENABLED=True,
        NOTIFICATIONS_WEBHOOK_ENABLED=True,
        PUBLIC_BASE_URL="https://cups.example",
    )
    staff = create_user(app, "staff@example.com", "staff password 1", staff=True)
    admin = create_user(app, "admin@example.com", "admin password 1", admin=True)
    captain = create_user(app, "captain@example.com", "captain password 1")
    mate = create_user(app, "mate@example.com", "mate password 12")
    with app.app_context():
        # Email is on, so only confirmed addresses may captain a team.
        for user_id in (captain, mate):
            db.session.get(User, user_id).email_verified_at = datetime.now(UTC)
        tournament = Tournament(slug="ff-open", name="FF Open <Dhaka>", game="freefire", status="registration")
        db.session.add(tournament)
        db.session.add(WebhookEndpoint(url="https://hooks.example/in", secret="s" * 32, event_types=[], enabled=True))
        db.session.commit()
        settings_save.save_settings(
            tournament.id,
            {
                "opens_at": (NOW - timedelta(days=1)).isoformat(),
                "closes_at": (NOW + timedelta(days=5)).isoformat(),
                "capacity": 2,
                "roster_min": 1,
                "roster_max": 4,
                "fee": {"amount": "500.00", "currency": "BDT"},
                "methods": [{"name": "bkash", "instructions": "bKash merchant 01700000000, reference = your code"}],
                "payment_deadline_hours": 48,
                "auto_confirm_free": True,
                "check_in_minutes": None,
            },
            staff,
            now=NOW,
        )
        tournament_id = tournament.id
    return {"app": app, "staff": staff, "admin": admin, "captain": captain, "mate": mate, "t": tournament_id}


def _inbox(app, user_id):
    with app.app_context():
        return [
            (n.event, n.title, n.body, n.url)
            for n in db.session.scalars(
                select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
            )
        ]


def _events(app, type_):
    with app.app_context():
        return [
            (e.id, e.data)
            for e in db.session.scalars(select(OutboxEvent).where(OutboxEvent.type == type_).order_by(OutboxEvent.id))
        ]


def _email_for(app, type_, user_id):
    """The email the worker would send for the newest `type_` event to `user_id`, parsed."""
    with app.app_context():
        event = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == type_).order_by(OutboxEvent.id.desc())
        ).first()
        deliveries = [d for d in event.deliveries if d.channel == "email" and d.user_id == user_id]
        if not deliveries:
            return None
        msg = notification_email.build_message(event, db.session.get(User, user_id))
        return email.message_from_bytes(msg.as_bytes(), policy=policy.default)


def _parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def _register_with_mate(w, name="Dhaka <Dragons>"):
    app = w["app"]
    with app.app_context():
        entry = entries.register(w["t"], w["captain"], name, "DD", now=NOW)
        # The teammate is on the roster the way a join code puts them there.
        from app.models import Registration

        db.session.add(Registration(tournament_id=w["t"], participant_id=entry.participant_id, user_id=w["mate"]))
        db.session.commit()
        return entry.id


def test_payment_submitted_reaches_every_staff_inbox_only(world):
    app = world["app"]
    entry_id = _register_with_mate(world)
    with app.app_context():
        entries.submit_proof(
            entry_id,
            world["captain"],
            method="bkash",
            transaction_id="8XK29QLM",
            amount="500.00",
            sender_last_digits="4321",
            now=NOW,
        )
        code = db.session.get(Entry, entry_id).code
    for staff in (world["staff"], world["admin"]):
        [item] = [n for n in _inbox(app, staff) if n[0] == "payment.submitted"]
        assert item[1] == "Payment proof to check: Dhaka <Dragons>"
        assert code in item[2] and "FF Open <Dhaka>" in item[2]
        assert item[3] == "/staff/tournaments/ff-open/registrations/"
    assert [n for n in _inbox(app, world["captain"]) if n[0] == "payment.submitted"] == []
    # Staff are told in the portal; no email queued for them.
    assert _email_for(app, "payment.submitted", world["staff"]) is None


def test_rejection_tells_the_whole_roster_with_the_reason_by_inbox_and_email(world):
    app = world["app"]
    entry_id = _register_with_mate(world)
    with app.app_context():
        entries.submit_proof(
            entry_id, world["captain"], method="bkash", transaction_id="8XK29QLM", amount="500.00", now=NOW
        )
        decisions.decide(entry_id, "reject", world["staff"], reason="No bKash payment with ID 8XK29QLM", now=NOW)
    for user in (world["captain"], world["mate"]):
        [item] = [n for n in _inbox(app, user) if n[0] == "payment.rejected"]
        assert item[1] == "Payment not accepted: Dhaka <Dragons>"
        assert "No bKash payment with ID 8XK29QLM" in item[2]
        assert item[3] == f"/account/registrations/{entry_id}"
    message = _email_for(app, "payment.rejected", world["mate"])
    assert message["Subject"] == "Payment not accepted: Dhaka <Dragons>"
    text, html = _parts(message)
    assert "Their reason: No bKash payment with ID 8XK29QLM" in text
    assert "Dhaka &lt;Dragons&gt;" in html and "Dhaka <Dragons>" not in html
    assert f"https://cups.example/account/registrations/{entry_id}" in text
    # The receivers of the webhook get the state, not the money or the staff's note.
    [(_, data)] = _events(app, "payment.rejected")
    assert data["payment_status"] == "rejected" and data["team_name"] == "Dhaka <Dragons>"
    assert "8XK29QLM" not in json.dumps(data) and "500" not in json.dumps(data)


def test_confirmation_after_verification_and_the_webhook_carries_no_payment_details(world):
    app = world["app"]
    entry_id = _register_with_mate(world)
    with app.app_context():
        entries.submit_proof(
            entry_id,
            world["captain"],
            method="bkash",
            transaction_id="TRX-77",
            amount="500.00",
            sender_last_digits="9876",
            now=NOW,
        )
        decisions.decide(entry_id, "verify", world["staff"], now=NOW)
    for user in (world["captain"], world["mate"]):
        titles = [n[1] for n in _inbox(app, user)]
        assert "Payment verified, registration confirmed: Dhaka <Dragons>" in titles
    text, html = _parts(_email_for(app, "registration.confirmed", world["captain"]))
    assert "Dhaka <Dragons> is confirmed for FF Open <Dhaka>" in text
    assert "Your entry fee of BDT 500.00 has been verified (transaction ID TRX-77)." in text
    # One verification, one message: the confirmation says both, no separate "Payment verified".
    titles = [n[1] for n in _inbox(app, world["captain"])]
    assert not any(t.startswith("Payment verified:") for t in titles)
    mate_text, _ = _parts(_email_for(app, "registration.confirmed", world["mate"]))
    assert "Your team's entry fee of BDT 500.00" in mate_text and "you sent" not in mate_text
    assert "FF Open &lt;Dhaka&gt;" in html
    for type_ in ("payment.submitted", "registration.confirmed", "payment.verified"):
        for _, data in _events(app, type_):
            blob = json.dumps(data)
            for secret in ("TRX-77", "9876", "500", "bkash", "captain@example.com", "mate@example.com"):
                assert secret not in blob, (type_, secret)
    with app.app_context():
        webhook_deliveries = db.session.scalars(
            select(Delivery)
            .join(OutboxEvent)
            .where(Delivery.channel == "webhook", OutboxEvent.type == "registration.confirmed")
        ).all()
        assert len(webhook_deliveries) == 1


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("deadline", "was not paid before the payment deadline"),
        ("withdrawn", "You withdrew the team"),
    ],
)
def test_cancellation_says_why(world, reason, words):
    app = world["app"]
    entry_id = _register_with_mate(world)
    with app.app_context():
        if reason == "deadline":
            timed_steps.run_timed_steps(now=NOW + timedelta(hours=49))
        else:
            entries.withdraw(entry_id, world["captain"], now=NOW)
    [(_, data)] = _events(app, "registration.cancelled")
    assert data["reason"] == reason and data["registration_id"] == entry_id
    [item] = [n for n in _inbox(app, world["captain"]) if n[0] == "registration.cancelled"]
    assert words in item[2]
    text, _ = _parts(_email_for(app, "registration.cancelled", world["captain"]))
    assert words in text


def test_email_off_by_preference_keeps_the_inbox(world, client):
    app = world["app"]
    from app.notifications import preferences

    with app.app_context():
        preferences.set_email_opt_out(world["captain"], preferences.PAYMENTS, True)
        db.session.commit()
    entry_id = _register_with_mate(world)
    with app.app_context():
        entries.submit_proof(entry_id, world["captain"], method="bkash", transaction_id="TX1001", amount="500", now=NOW)
        decisions.decide(entry_id, "verify", world["staff"], now=NOW)
    assert _email_for(app, "registration.confirmed", world["captain"]) is None
    assert _email_for(app, "registration.confirmed", world["mate"]) is not None
    assert any(n[0] == "registration.confirmed" for n in _inbox(app, world["captain"]))


def test_an_unconfirmed_address_cannot_captain_while_email_is_on(world):
    from app.errors import PermissionDenied

    app = world["app"]
    stranger = create_user(app, "new@example.com", "new password 12")
    with app.app_context(), pytest.raises(PermissionDenied, match="Confirm your email address"):
        entries.register(world["t"], stranger, "Fresh Team", None, now=NOW)
    with app.app_context():
        assert db.session.scalar(select(Entry).where(Entry.team_name == "Fresh Team")) is None


def test_tournament_wide_news_skips_teams_whose_registration_is_not_confirmed(world):
    """A lobby going live before results reaches every team of the tournament: a team still
    paying is not one of them yet, a team staff added directly is."""
    import tests.factories as f
    from app.models import Participant, Registration
    from app.services.tournaments import states

    app = world["app"]
    _register_with_mate(world)
    invited_player = create_user(app, "invited@example.com", "invited pass 12")
    with app.app_context():
        invited = Participant(tournament_id=world["t"], key="invited", name="Invited Team")
        db.session.add(invited)
        db.session.flush()
        db.session.add(Registration(tournament_id=world["t"], participant_id=invited.id, user_id=invited_player))
        tournament = db.session.get(Tournament, world["t"])
        lobby = f.lobby(tournament, [], state="scheduled", key="m1")
        db.session.commit()
        states.change_match_state(world["t"], lobby.id, "live", world["staff"])
    assert [n[1] for n in _inbox(app, invited_player)] == ["Live now: Match m1"]
    for user in (world["captain"], world["mate"]):
        assert not [n for n in _inbox(app, user) if n[0] == "match.started"]


def test_the_next_team_on_the_waiting_list_is_told_it_has_a_place_and_until_when_to_pay(world):
    app = world["app"]
    first = _register_with_mate(world)
    with app.app_context():
        second = create_user(app, "second@example.com", "second pass 12")
        waiting_captain = create_user(app, "third@example.com", "third pass 123")
        for user_id in (second, waiting_captain):
            db.session.get(User, user_id).email_verified_at = NOW
        db.session.commit()
        entries.register(world["t"], second, "Second", None, now=NOW)
        waiting = entries.register(world["t"], waiting_captain, "Third <Team>", None, now=NOW)
        assert waiting.status == "waitlisted"
        entries.withdraw(first, world["captain"], now=NOW + timedelta(hours=1))
    [item] = [n for n in _inbox(app, waiting_captain) if n[0] == "registration.offered"]
    assert item[1] == "A place for Third <Team>: pay BDT 500.00 to keep it"
    assert "before 02 Dec 2026, 13:00 UTC" in item[2]
    text, html = _parts(_email_for(app, "registration.offered", waiting_captain))
    assert "Pay the entry fee of BDT 500.00 and send the proof from your registration page before" in text
    assert "02 Dec 2026, 13:00 UTC" in text
    assert "Third &lt;Team&gt;" in html
    # For the team alone: no webhook delivery for it.
    with app.app_context():
        assert not db.session.scalars(
            select(Delivery)
            .join(OutboxEvent)
            .where(Delivery.channel == "webhook", OutboxEvent.type == "registration.offered")
        ).all()
