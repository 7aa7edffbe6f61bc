"""The registration API (contract §7) end to end: settings, register, list, proof, decision,
withdraw and check-in, with bearer tokens and with a session + CSRF; every bad input is a 4xx
with a message naming the field, and the database is unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Entry, Payment, PaymentProof, RegistrationSettings, Tournament
from app.notifications.models import OutboxEvent
from app.services.accounts.tokens import create_token
from app.services.registration import records as entry_records
from tests.conftest import PLAYER_EMAIL, PLAYER_PASSWORD, create_user, csrf_token_from
from tests.factories import br_tournament

SETTINGS = {
    "opens_at": "2020-01-01T00:00:00Z",
    "closes_at": None,
    "capacity": 1,
    "roster_min": 1,
    "roster_max": 4,
    "fee": {"amount": "500.00", "currency": "BDT"},
    "methods": [{"name": "bkash", "instructions": "Send to 01700000000 with your code"}],
    "payment_deadline_hours": 48,
    "auto_confirm_free": True,
    "check_in_minutes": None,
}


@pytest.fixture
def setup(app, staff_user):
    with app.app_context():
        tournament = br_tournament("reg-cup", status="registration", teams=())
        db.session.commit()
        tid = tournament.id
        staff = create_token(staff_user)
    captains = {}
    for n in (1, 2, 3):
        uid = create_user(app, f"cap{n}@example.com", "password 12345")
        with app.app_context():
            captains[n] = {"id": uid, "token": create_token(uid)}
    return {"tid": tid, "staff": staff, "captains": captains}


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _put_settings(client, setup, **overrides):
    return client.put(
        f"/api/tournaments/{setup['tid']}/registration/", json={**SETTINGS, **overrides}, headers=_h(setup["staff"])
    )


def test_whole_flow_through_the_api(app, client, setup):
    base = f"/api/tournaments/{setup['tid']}"
    assert client.get(f"{base}/registration/").status_code == 404
    response = _put_settings(client, setup)
    assert response.status_code == 200
    assert response.get_json()["fee"] == {"amount": "500.00", "currency": "BDT"}
    assert client.get("/api/tournaments/reg-cup/registration/").get_json() == response.get_json()

    c1, c2 = setup["captains"][1], setup["captains"][2]
    first = client.post(
        f"{base}/registrations/", json={"team_name": "Team Phoenix", "tag": "PHX"}, headers=_h(c1["token"])
    )
    assert first.status_code == 201
    body = first.get_json()
    assert list(body) == ["id", "code", "status", "payment_deadline", "waitlist_position"]
    assert body["status"] == "pending_payment" and body["waitlist_position"] is None and body["payment_deadline"]
    second = client.post(f"{base}/registrations/", json={"team_name": "Bravo"}, headers=_h(c2["token"]))
    assert second.status_code == 201 and second.get_json()["status"] == "waitlisted"
    assert second.get_json()["waitlist_position"] == 1
    rid = body["id"]

    # A player sees only their own; staff see all.
    mine = client.get(f"{base}/registrations/", headers=_h(c1["token"])).get_json()
    assert [r["id"] for r in mine] == [rid]
    assert set(mine[0]) == {
        "id", "code", "team_name", "tag", "status", "payment_status", "captain_id",
        "created_at", "payment_deadline", "waitlist_position", "checked_in", "participant_id",
    }  # fmt: skip
    # participant_id is the team's key in results and standings (contract §7/§8).
    with app.app_context():
        key = db.session.get(Entry, rid).participant.key
    assert mine[0]["participant_id"] == key and isinstance(key, str)
    assert client.get(f"{base}/registrations/?status=waitlisted", headers=_h(c1["token"])).get_json() == []
    bad = client.get(f"{base}/registrations/?status=paid", headers=_h(c1["token"]))
    assert bad.status_code == 400 and bad.get_json()["error"].startswith("status")
    everyone = client.get(f"{base}/registrations/", headers=_h(setup["staff"])).get_json()
    assert {r["team_name"] for r in everyone} == {"Team Phoenix", "Bravo"}

    proof = {"method": "bkash", "transaction_id": "9BC7XK2Q1L", "amount": "500.00"}
    # Only the captain: another player does not even see the registration.
    assert client.post(f"{base}/registrations/{rid}/payment/", json=proof, headers=_h(c2["token"])).status_code == 404
    paid = client.post(f"{base}/registrations/{rid}/payment/", json=proof, headers=_h(c1["token"]))
    assert paid.status_code == 200 and paid.get_json()["payment_status"] == "submitted"

    decision = f"{base}/registrations/{rid}/decision/"
    assert client.post(decision, json={"decision": "verify"}, headers=_h(c1["token"])).status_code == 403
    assert client.post(decision, json={"decision": "reject"}, headers=_h(setup["staff"])).status_code == 400
    verified = client.post(decision, json={"decision": "verify"}, headers=_h(setup["staff"]))
    assert verified.status_code == 200
    assert (verified.get_json()["status"], verified.get_json()["payment_status"]) == ("confirmed", "verified")
    assert client.post(decision, json={"decision": "verify"}, headers=_h(setup["staff"])).status_code == 409

    withdrawn = client.post(f"{base}/registrations/{rid}/withdraw/", headers=_h(c1["token"]))
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    # The waiting team is offered the freed slot.
    row = client.get(f"{base}/registrations/", headers=_h(c2["token"])).get_json()[0]
    assert row["status"] == "pending_payment" and row["waitlist_position"] is None
    refund = client.post(
        decision, json={"decision": "refund", "reason": "withdrew", "reference": "R-1"}, headers=_h(setup["staff"])
    )
    assert refund.status_code == 200 and refund.get_json()["payment_status"] == "refunded"
    with app.app_context():
        types = [e.type for e in db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
        assert types == [
            "payment.submitted",
            "registration.confirmed",
            "payment.verified",
            "registration.cancelled",
            "registration.offered",  # the waiting team is told it has the freed place
            "payment.refunded",
        ]
        assert db.session.scalar(select(Payment.status)) == "refunded"


def test_check_in_through_the_api(app, client, setup):
    base = f"/api/tournaments/{setup['tid']}"
    starts = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0)
    settings = {
        "fee": {"amount": "0"},
        "methods": [],
        "starts_at": starts.isoformat().replace("+00:00", "Z"),
        "check_in_minutes": 60,
    }
    assert _put_settings(client, setup, **settings).status_code == 200
    c1 = setup["captains"][1]
    created = client.post(f"{base}/registrations/", json={"team_name": "Alpha"}, headers=_h(c1["token"]))
    assert created.get_json()["status"] == "confirmed"
    rid = created.get_json()["id"]
    checked = client.post(f"{base}/registrations/{rid}/check-in/", headers=_h(c1["token"]))
    assert checked.status_code == 200 and checked.get_json()["checked_in"] is True
    other = setup["captains"][2]
    assert client.post(f"{base}/registrations/{rid}/check-in/", headers=_h(other["token"])).status_code == 404


def test_player_session_needs_csrf(app, client, setup, player_user):
    _put_settings(client, setup)
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "email": PLAYER_EMAIL,
            "password": PLAYER_PASSWORD,
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    url = f"/api/tournaments/{setup['tid']}/registrations/"
    assert client.post(url, json={"team_name": "Alpha"}).status_code == 400  # no CSRF token
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post(url, json={"team_name": "Alpha"}, headers={"X-CSRFToken": token})
    assert response.status_code == 201
    assert client.get(url).get_json()[0]["team_name"] == "Alpha"


def test_anonymous_and_bad_tokens(client, setup):
    url = f"/api/tournaments/{setup['tid']}/registrations/"
    assert client.post(url, json={"team_name": "Alpha"}).status_code == 401
    assert client.get(url).status_code == 401
    assert client.post(url, json={"team_name": "Alpha"}, headers=_h("dc_forged")).status_code == 401
    assert client.put(f"/api/tournaments/{setup['tid']}/registration/", json=SETTINGS).status_code == 401
    response = client.put(
        f"/api/tournaments/{setup['tid']}/registration/", json=SETTINGS, headers=_h(setup["captains"][1]["token"])
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "body"),
        ([], "body"),
        ({}, "capacity"),
        ({**SETTINGS, "capacity": -1}, "capacity"),
        ({**SETTINGS, "capacity": 2.5}, "capacity"),
        ({**SETTINGS, "fee": {"amount": "abc"}}, "fee.amount"),
        ({**SETTINGS, "fee": "free please"}, "fee.amount"),
        ({**SETTINGS, "methods": "bkash"}, "methods"),
        ({**SETTINGS, "methods": [{"name": "bkash", "instructions": 5}]}, "methods[0].instructions"),
        ({**SETTINGS, "opens_at": 12}, "opens_at"),
        ({**SETTINGS, "roster_min": 0}, "roster_min"),
        ({**SETTINGS, "check_in_minutes": 30}, "starts_at"),
        ({**SETTINGS, "extra": 1}, "extra"),
        ({**SETTINGS, "opens_at": "a\x00b"}, "body"),
    ],
)
def test_bad_settings_are_400(app, client, setup, body, field):
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.put(
        f"/api/tournaments/{setup['tid']}/registration/",
        data=data,
        headers={**_h(setup["staff"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"].startswith(field), response.get_json()
    with app.app_context():
        assert db.session.scalar(select(func.count(RegistrationSettings.id))) == 0


def test_bad_registration_bodies(app, client, setup):
    _put_settings(client, setup, capacity=5)
    url = f"/api/tournaments/{setup['tid']}/registrations/"
    token = _h(setup["captains"][1]["token"])
    for body, status, field in [
        ({}, 400, "team_name"),
        ({"team_name": 5}, 400, "team_name"),
        ({"team_name": "   "}, 400, "team_name"),
        ({"team_name": "x" * 201}, 400, "team_name"),
        ({"team_name": "Ok", "tag": ["x"]}, 400, "tag"),
        ({"team_name": "Ok", "colour": "red"}, 400, "colour"),
        ({"team_name": "a\udc80"}, 400, "body"),
    ]:
        response = client.post(url, data=json.dumps(body), headers={**token, "Content-Type": "application/json"})
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["error"].startswith(field), (body, response.get_json())
    assert (
        client.post("/api/tournaments/nope/registrations/", json={"team_name": "A"}, headers=token).status_code == 404
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(Entry.id))) == 0
    assert client.post(url, json={"team_name": "Alpha"}, headers=token).status_code == 201
    again = client.post(url, json={"team_name": "Bravo"}, headers=token)
    assert again.status_code == 409 and "already on Alpha" in again.get_json()["error"]
    taken = client.post(url, json={"team_name": "ALPHA"}, headers=_h(setup["captains"][2]["token"]))
    assert taken.status_code == 409 and "already registered" in taken.get_json()["error"]


def test_registration_closed_is_409(app, client, setup):
    _put_settings(client, setup, opens_at="2999-01-01T00:00:00Z")
    url = f"/api/tournaments/{setup['tid']}/registrations/"
    response = client.post(url, json={"team_name": "Alpha"}, headers=_h(setup["captains"][1]["token"]))
    assert response.status_code == 409 and "not open" in response.get_json()["error"]
    with app.app_context():
        db.session.get(Tournament, setup["tid"]).status = "live"
        db.session.commit()
    _put_settings(client, setup)
    response = client.post(url, json={"team_name": "Alpha"}, headers=_h(setup["captains"][1]["token"]))
    assert response.status_code == 409


def test_bad_proofs_and_decisions(app, client, setup):
    _put_settings(client, setup, capacity=5)
    base = f"/api/tournaments/{setup['tid']}/registrations"
    token = _h(setup["captains"][1]["token"])
    rid = client.post(f"{base}/", json={"team_name": "Alpha"}, headers=token).get_json()["id"]
    good = {"method": "bkash", "transaction_id": "TX12345", "amount": "500"}
    for body, field in [
        ({**good, "method": None}, "method"),
        ({**good, "method": "paypal"}, "method"),
        ({**good, "transaction_id": 123}, "transaction_id"),
        ({**good, "transaction_id": "a b"}, "transaction_id"),
        ({k: v for k, v in good.items() if k != "amount"}, "amount"),
        ({**good, "amount": "5,00"}, "amount"),
        ({**good, "amount": True}, "amount"),
        ({**good, "amount": "10"}, "amount"),
        ({**good, "sender_last_digits": "abcd"}, "sender_last_digits"),
        ({**good, "screenshot": "x"}, "screenshot"),
    ]:
        response = client.post(f"{base}/{rid}/payment/", json=body, headers=token)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"].startswith(field), (body, response.get_json())
    assert client.post(f"{base}/999999/payment/", json=good, headers=token).status_code == 404
    assert client.post(f"{base}/99999999999/payment/", json=good, headers=token).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(PaymentProof.id))) == 0
    staff = _h(setup["staff"])
    for body, field in [
        ({}, "decision"),
        ({"decision": "accept"}, "decision"),
        ({"decision": 1}, "decision"),
        ({"decision": "refund"}, "reason"),
        ({"decision": "reject", "reason": 5}, "reason"),
        ({"decision": "waive", "why": "x"}, "why"),
    ]:
        response = client.post(f"{base}/{rid}/decision/", json=body, headers=staff)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"].startswith(field), (body, response.get_json())
    # A registration of another tournament is not found under this one.
    with app.app_context():
        other = br_tournament("other-cup", status="registration", teams=())
        db.session.commit()
        other_id = other.id
    assert client.post(f"/api/tournaments/{other_id}/registrations/{rid}/withdraw/", headers=token).status_code == 404
    with app.app_context():
        assert entry_records.get_entry(rid).status == "pending_payment"
