"""Each registration email carries the fact it exists for, in both its text and HTML parts, and
says only what happened (issue 28.3-28.7, 28.9; issue 26.4). Driven through the services, read
back as the worker would render the email."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

from sqlalchemy import select

from app.extensions import db
from app.models import Entry, RegistrationSettings, User
from app.notifications import email as notification_email
from app.notifications import preferences
from app.notifications.models import Delivery, OutboxEvent
from app.services.registration import decisions, entries, timed_steps
from tests.conftest import AuthActions, create_user
from tests.notifications.test_registration_notifications import (  # noqa: F401  (world is a fixture)
    NOW,
    _email_for,
    _inbox,
    _parts,
    _register_with_mate,
    world,
)


def _both(app, type_, user_id):
    """The newest `type_` email queued for `user_id`, as the worker renders it: (message, text, html)."""
    with app.app_context():
        delivery = db.session.scalars(
            select(Delivery)
            .join(OutboxEvent)
            .where(OutboxEvent.type == type_, Delivery.channel == "email", Delivery.user_id == user_id)
            .order_by(Delivery.id.desc())
        ).first()
        assert delivery is not None, f"no {type_} email for user {user_id}"
        msg = notification_email.build_message(delivery.event, db.session.get(User, user_id))
        message = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    return message, *_parts(message)


def _pay_and_verify(w, entry_id, transaction_id="TRX-501"):
    with w["app"].app_context():
        entries.submit_proof(
            entry_id, w["captain"], method="bkash", transaction_id=transaction_id, amount="500.00", now=NOW
        )
        decisions.decide(entry_id, "verify", w["staff"], now=NOW)


def _player(app, address):
    user_id = create_user(app, address, "player password 1")
    with app.app_context():
        db.session.get(User, user_id).email_verified_at = NOW
        db.session.commit()
    return user_id


def test_refund_email_gives_the_refund_transaction_id_and_the_reason(world):  # noqa: F811  (the imported fixture)
    app = world["app"]
    entry_id = _register_with_mate(world)
    _pay_and_verify(world, entry_id, "TRX-ORIGINAL-1")
    with app.app_context():
        entries.withdraw(entry_id, world["captain"], now=NOW + timedelta(hours=1))
        decisions.decide(
            entry_id, "refund", world["staff"], reason="Withdrew two days before the start", reference="RF-991"
        )
    _, text, html = _both(app, "payment.refunded", world["captain"])
    for part in (text, html):
        assert "RF-991" in part and "Withdrew two days before the start" in part and "BDT 500.00" in part
        # The original payment is named as such, never as the refund's reference.
        assert "TRX-ORIGINAL-1" in part and "Refund transaction ID" in part


def test_confirmation_after_verification_is_one_email_with_the_fee_and_the_check_in(world):  # noqa: F811  (the imported fixture)
    app = world["app"]
    with app.app_context():
        settings = db.session.scalar(
            select(RegistrationSettings).where(RegistrationSettings.tournament_id == world["t"])
        )
        settings.starts_at, settings.check_in_minutes = NOW + timedelta(days=3), 60
        db.session.commit()
    entry_id = _register_with_mate(world)
    _pay_and_verify(world, entry_id)
    _, text, html = _both(app, "registration.confirmed", world["captain"])
    for part in (text, html):
        assert "BDT 500.00" in part and "TRX-501" in part
        assert "03 Dec 2026, 11:00 UTC to 03 Dec 2026, 12:00 UTC" in part
        assert "Check in from" in part  # the next step
    assert _email_for(app, "payment.verified", world["captain"]) is None
    assert [n[0] for n in _inbox(app, world["captain"])].count("payment.verified") == 0


def test_rejected_proof_email_gives_reason_transaction_and_deadline(world):  # noqa: F811  (the imported fixture)
    app = world["app"]
    entry_id = _register_with_mate(world)
    with app.app_context():
        entries.submit_proof(
            entry_id, world["captain"], method="bkash", transaction_id="TRX-9", amount="500.00", now=NOW
        )
        decisions.decide(entry_id, "reject", world["staff"], reason="Amount short by BDT 50", now=NOW)
    _, text, html = _both(app, "payment.rejected", world["captain"])
    for part in (text, html):
        assert "Amount short by BDT 50" in part and "TRX-9" in part and "02 Dec 2026, 12:00 UTC" in part
        assert "send the proof again from your registration page" in part
    _, mate_text, _ = _both(app, "payment.rejected", world["mate"])
    assert "you sent" not in mate_text and "Your captain can send the proof again" in mate_text


def test_a_turned_down_registration_tells_the_captain_why_on_page_inbox_and_email(world):  # noqa: F811  (the imported fixture)
    app = world["app"]
    entry_id = _register_with_mate(world)
    with app.app_context():
        decisions.decide(entry_id, "reject", world["staff"], reason="Team name impersonates another team", now=NOW)
        assert db.session.get(Entry, entry_id).end_note == "Team name impersonates another team"
    [item] = [n for n in _inbox(app, world["captain"]) if n[0] == "registration.cancelled"]
    assert "Their reason: Team name impersonates another team" in item[2]
    _, text, html = _both(app, "registration.cancelled", world["captain"])
    for part in (text, html):
        assert "Team name impersonates another team" in part
        assert "went to the next team" not in part  # nobody was waiting
    client = app.test_client()
    AuthActions(client).login("captain@example.com", "captain password 1")
    page = client.get(f"/account/registrations/{entry_id}").get_data(as_text=True)
    assert "Their reason:" in page and "Team name impersonates another team" in page


def test_no_show_with_a_verified_fee_and_nobody_waiting(world):  # noqa: F811  (the imported fixture)
    app = world["app"]
    with app.app_context():
        settings = db.session.scalar(
            select(RegistrationSettings).where(RegistrationSettings.tournament_id == world["t"])
        )
        settings.starts_at, settings.check_in_minutes = NOW + timedelta(hours=3), 60
        db.session.commit()
    entry_id = _register_with_mate(world)
    _pay_and_verify(world, entry_id)
    with app.app_context():
        assert timed_steps.run_timed_steps(now=NOW + timedelta(hours=4))["no_show"] == 1
    _, text, html = _both(app, "registration.cancelled", world["captain"])
    for part in (text, html):
        assert "did not check in" in part and "30 Nov 2026, 15:00 UTC" in part
        assert "went to the next team" not in part and "next team" not in part
        assert "BDT 500.00" in part and "not refunded automatically" in part


def test_deadline_cancellations_say_the_place_went_on_only_when_a_team_took_it(world):  # noqa: F811  (the imported fixture)
    app = world["app"]
    second = _player(app, "second@example.com")
    third = _player(app, "third@example.com")
    with app.app_context():
        entries.register(world["t"], world["captain"], "First Team", None, now=NOW)
        entries.register(world["t"], second, "Second Team", None, now=NOW)
        assert entries.register(world["t"], third, "Third Team", None, now=NOW).status == "waitlisted"
        timed_steps.run_timed_steps(now=NOW + timedelta(hours=49))
    sentences = []
    for user_id in (world["captain"], second):
        _, text, html = _both(app, "registration.cancelled", user_id)
        assert "not paid before the payment deadline" in text and "not paid before the payment deadline" in html
        sentences.append("went to the next team on the waiting list" in text)
    assert sorted(sentences) == [False, True]  # one waiting team, one place passed on


def test_waiting_list_offer_gives_amount_instructions_deadline_and_ignores_the_opt_out(world):  # noqa: F811  (the imported fixture)
    app = world["app"]
    second = _player(app, "second@example.com")
    waiting = _player(app, "waiting@example.com")
    first = _register_with_mate(world)
    with app.app_context():
        entries.register(world["t"], second, "Second", None, now=NOW)
        entries.register(world["t"], waiting, "Waiting <Team>", None, now=NOW)
        preferences.set_email_opt_out(waiting, preferences.PAYMENTS, True)
        db.session.commit()
        entries.withdraw(first, world["captain"], now=NOW + timedelta(hours=1))
    message, text, html = _both(app, "registration.offered", waiting)
    for part in (text, html):
        assert "BDT 500.00" in part and "bKash merchant 01700000000, reference = your code" in part
        assert "02 Dec 2026, 13:00 UTC" in part and "send the proof" in part
        assert "you play in" not in part and "registered Waiting" in part  # the footer's truth
        assert "/unsubscribe/" not in part
    assert message["List-Unsubscribe"] is None  # transactional: always sent, no unsubscribe


def test_withdrawal_with_a_verified_fee_says_what_happens_to_it(world):  # noqa: F811  (the imported fixture)
    app = world["app"]
    entry_id = _register_with_mate(world)
    _pay_and_verify(world, entry_id)
    with app.app_context():
        entries.withdraw(entry_id, world["captain"], now=NOW + timedelta(hours=1))
    _, text, html = _both(app, "registration.cancelled", world["captain"])
    for part in (text, html):
        assert "You withdrew the team." in part and "BDT 500.00" in part and "refund" in part
        assert "Open your registration" in part  # the button says where it goes


def test_unsubscribe_page_and_footer_name_the_category_alike(world):  # noqa: F811  (the imported fixture)
    app = world["app"]
    entry_id = _register_with_mate(world)
    with app.app_context():
        entries.submit_proof(
            entry_id, world["captain"], method="bkash", transaction_id="TRX-9", amount="500.00", now=NOW
        )
        decisions.decide(entry_id, "reject", world["staff"], reason="Amount short", now=NOW)
    message, text, html = _both(app, "payment.rejected", world["captain"])
    assert "Unsubscribe from Entries and payments emails" in text and "Entries and payments" in html
    link = message["List-Unsubscribe"].strip("<>")
    page = app.test_client().get(link.replace("https://cups.example", "")).get_data(as_text=True)
    assert "Entries and payments" in page
