"""Issue 27, item 4: `registration_id` means one thing in every webhook: the team's entry, the
`<rid>` of the registration API (contract §7). `payment.verified` / `payment.refunded` used to
carry the roster row's id, which can be another team's entry id, so a receiver acted on the
wrong team. The roster row is `roster_registration_id` there."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Payment, Registration, User
from app.notifications.models import OutboxEvent
from tests import factories as f
from tests.web.api.test_registration_api import SETTINGS, _h, _put_settings, setup  # noqa: F401  (fixture)

WEBHOOK_ENTRY_EVENTS = {
    "payment.submitted",
    "payment.rejected",
    "payment.verified",
    "payment.refunded",
    "registration.confirmed",
    "registration.cancelled",
}


def _shift_roster_ids(app) -> None:
    """One roster row in another tournament first, so captain 1's roster row gets id 2: the id of
    captain 2's entry."""
    with app.app_context():
        other = f.br_tournament("elsewhere", teams=("Z",))
        user = User(email="someone@example.com")
        db.session.add(user)
        db.session.flush()
        db.session.add(
            Registration(tournament_id=other.id, participant_id=f.participant(other, "Z").id, user_id=user.id)
        )
        db.session.commit()


def test_every_event_names_the_entry_the_api_knows(app, client, setup):  # noqa: F811
    _shift_roster_ids(app)
    base = f"/api/tournaments/{setup['tid']}"
    staff = _h(setup["staff"])
    assert _put_settings(client, setup, capacity=3).status_code == 200
    rids = {}
    for n, team in ((1, "Phoenix"), (2, "Bravo"), (3, "Charlie")):
        answer = client.post(
            f"{base}/registrations/", json={"team_name": team}, headers=_h(setup["captains"][n]["token"])
        )
        assert answer.status_code == 201
        rids[team] = answer.get_json()["id"]
    c1 = _h(setup["captains"][1]["token"])
    proof = {"method": "bkash", "transaction_id": "9BC7XK2Q1L", "amount": "500.00"}
    decide = f"{base}/registrations/{rids['Phoenix']}/decision/"
    assert client.post(f"{base}/registrations/{rids['Phoenix']}/payment/", json=proof, headers=c1).status_code == 200
    assert client.post(decide, json={"decision": "reject", "reason": "not received"}, headers=staff).status_code == 200
    proof["transaction_id"] = "9BC7XK2Q1M"
    assert client.post(f"{base}/registrations/{rids['Phoenix']}/payment/", json=proof, headers=c1).status_code == 200
    assert client.post(decide, json={"decision": "verify"}, headers=staff).status_code == 200
    assert client.post(f"{base}/registrations/{rids['Phoenix']}/withdraw/", headers=c1).status_code == 200
    refund = {"decision": "refund", "reason": "withdrew", "reference": "R-1"}
    assert client.post(decide, json=refund, headers=staff).status_code == 200
    bravo = f"{base}/registrations/{rids['Bravo']}/decision/"
    assert client.post(bravo, json={"decision": "reject", "reason": "duplicate team"}, headers=staff).status_code == 200

    rows = {r["id"]: r for r in client.get(f"{base}/registrations/", headers=staff).get_json()}
    with app.app_context():
        roster_row = db.session.scalar(select(Payment.registration_id))
        assert roster_row == rids["Bravo"] != rids["Phoenix"]  # the trap is set: another team's entry id
        events = [(e.type, e.data) for e in db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    assert {kind for kind, _ in events} >= WEBHOOK_ENTRY_EVENTS
    for kind, data in events:
        if kind not in WEBHOOK_ENTRY_EVENTS:
            continue
        row = rows[data["registration_id"]]  # an id the API knows, as its `<rid>`
        team = data.get("team_name", data.get("participant_name"))
        assert row["team_name"] == team, (kind, data)
        if "registration_code" in data:
            assert row["code"] == data["registration_code"], (kind, data)
        assert data["tournament_id"] == setup["tid"]
        if kind.startswith("payment.") and "payment_id" in data:
            assert data["roster_registration_id"] == roster_row


def test_a_payment_of_a_team_without_an_entry_names_no_registration(app, staff_user):
    """A team staff added directly has no entry: its payments carry the roster row only."""
    from app.services.registration import payments

    with app.app_context():
        t = f.br_tournament("direct-cup")
        user = User(email="direct@example.com")
        db.session.add(user)
        db.session.flush()
        registration = Registration(tournament_id=t.id, participant_id=f.participant(t, "A").id, user_id=user.id)
        db.session.add(registration)
        db.session.flush()
        payment = Payment(registration_id=registration.id, amount_cents=100, currency="BDT")
        db.session.add(payment)
        db.session.commit()
        payments.verify_payment(payment.id, staff_user)
        data = db.session.scalar(select(OutboxEvent.data).where(OutboxEvent.type == "payment.verified"))
        assert data["registration_id"] is None
        assert data["roster_registration_id"] == registration.id
