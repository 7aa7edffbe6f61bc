"""Payments in the staff portal: registrations listed with their payment state; verify, reject
or refund with a note, through `services.payments` (audited; final states stay final)."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import AuditEvent, Payment, PaymentVerification, Registration, User
from tests import factories as f
from tests.web.staff.test_staff_tournament import Staff, text

URL = "/staff/tournaments/pay-cup/payments"


@pytest.fixture
def payments(app):
    with app.app_context():
        t = f.br_tournament("pay-cup", teams=("A", "B"))
        other = f.br_tournament("other-cup", teams=("X",))
        ids = []
        for i, (tournament, team) in enumerate([(t, "A"), (t, "B"), (other, "X")]):
            user = User(email=f"p{i}@example.com", display_name=f"Player {i}")
            db.session.add(user)
            db.session.flush()
            reg = Registration(
                tournament_id=tournament.id, participant_id=f.participant(tournament, team).id, user_id=user.id
            )
            db.session.add(reg)
            db.session.flush()
            payment = Payment(registration_id=reg.id, amount_cents=50000, method="bKash", reference=f"TX{i}")
            db.session.add(payment)
            db.session.flush()
            ids.append(payment.id)
        db.session.commit()
        return ids


@pytest.fixture
def staff(client, auth, staff_user, payments):
    auth.login()
    return Staff(client, auth.csrf_token())


def status(app, payment_id):
    with app.app_context():
        return db.session.get(Payment, payment_id).status


def test_list_shows_registrations_with_payment_state(staff, payments):
    html = text(staff.get(URL + "/"))
    assert "Player 0" in html and "Player 1" in html and "Player 2" not in html  # only this tournament
    assert "BDT 500.00" in html and "TX0" in html  # the one money format (app/money.py)
    assert html.count('value="verified"') == 2 and html.count('value="rejected"') == 2


def test_verify_then_refund_with_note(app, staff, payments):
    pid = payments[0]
    assert staff.post(f"{URL}/{pid}", {"status": "verified", "note": ""}).status_code == 302
    assert status(app, pid) == "verified"
    no_note = staff.post(f"{URL}/{pid}", {"status": "refunded", "note": "  "})
    assert no_note.status_code == 400 and "reason: required to mark a payment refunded" in text(no_note)
    assert staff.post(f"{URL}/{pid}", {"status": "refunded", "note": "Team withdrew"}).status_code == 302
    assert status(app, pid) == "refunded"
    final = staff.post(f"{URL}/{pid}", {"status": "verified"})
    assert final.status_code == 409 and "cannot become verified" in text(final)
    long_note = "Refunded twice? " + "x" * 500
    kept = staff.post(f"{URL}/{payments[1]}", {"status": "rejected", "note": long_note})
    assert kept.status_code == 400 and f'value="{long_note}"' in text(kept)
    html = text(staff.get(URL + "/"))
    assert re.search(r"refunded \d{4}-\d\d-\d\d \d\d:\d\d: Team withdrew", html)
    with app.app_context():
        assert [v.status for v in db.session.scalars(db.select(PaymentVerification).filter_by(payment_id=pid))] == [
            "verified",
            "refunded",
        ]
        events = list(db.session.scalars(db.select(AuditEvent).filter_by(target_id=pid, target_type="payment")))
        assert [(e.action, e.reason) for e in events] == [
            ("payment.verified", None),
            ("payment.refunded", "Team withdrew"),
        ]


def test_reject_needs_a_note(app, staff, payments):
    pid = payments[1]
    response = staff.post(f"{URL}/{pid}", {"status": "rejected"})
    assert response.status_code == 400 and status(app, pid) == "pending"
    assert staff.post(f"{URL}/{pid}", {"status": "rejected", "note": "No money arrived"}).status_code == 302
    assert status(app, pid) == "rejected"


@pytest.mark.parametrize(
    "data, code",
    [
        ({"status": "paid"}, 400),
        ({"status": "verified", "note": "x" * 501}, 400),
        ({"status": "rejected", "note": "bad\x00"}, 400),
        ({}, 400),
    ],
)
def test_bad_decisions_change_nothing(app, staff, payments, data, code):
    assert staff.post(f"{URL}/{payments[0]}", data).status_code == code
    assert status(app, payments[0]) == "pending"


def test_payment_of_another_tournament_is_404(app, staff, payments):
    assert staff.post(f"{URL}/{payments[2]}", {"status": "verified"}).status_code == 404
    assert staff.post(f"{URL}/999999", {"status": "verified"}).status_code == 404
    assert status(app, payments[2]) == "pending"
