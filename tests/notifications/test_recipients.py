"""Who is told about what: in-app notifications and email deliveries written by `fan_out`
inside the transaction of each real change, through the services that make the changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import tests.factories as f
from app.extensions import db
from app.models import Notification, Payment, Registration, User
from app.notifications import preferences
from app.notifications.models import Delivery
from app.services.registration import payments
from app.services.standings.leaderboard import LeaderboardService as LS
from app.services.tournaments import states
from tests.conftest import create_user


@pytest.fixture
def app(make_app):
    return make_app(NOTIFICATIONS_EMAIL_ENABLED=True)


def _player(app, email, tournament_id, participant_key):
    user_id = create_user(app, email, "player password 1")
    with app.app_context():
        participant = f.participant(db.session.get(f.Tournament, tournament_id), participant_key)
        db.session.add(Registration(tournament_id=tournament_id, participant_id=participant.id, user_id=user_id))
        db.session.commit()
    return user_id


def _told(app, event_type):
    """{user email: (notification count, email delivery count)} for one event type."""
    with app.app_context():
        out: dict[str, list[int]] = {}
        for n in db.session.scalars(select(Notification).where(Notification.event == event_type)):
            out.setdefault(db.session.get(User, n.user_id).email, [0, 0])[0] += 1
        for d in db.session.scalars(select(Delivery).where(Delivery.channel == "email")):
            if d.event.type == event_type:
                out.setdefault(db.session.get(User, d.user_id).email, [0, 0])[1] += 1
        return {k: tuple(v) for k, v in out.items()}


@pytest.fixture
def series_setup(app):
    with app.app_context():
        t = f.series_tournament("val-cup", teams=("A", "B", "C"))
        s = f.series(t, "sf1", "A", "B", 3)
        game = f.game(s, None, state="scheduled")
        db.session.commit()
        ids = {"tournament": t.id, "game": game.id}
    ids["a"] = _player(app, "a@example.com", ids["tournament"], "A")
    ids["a2"] = _player(app, "a2@example.com", ids["tournament"], "A")
    ids["b"] = _player(app, "b@example.com", ids["tournament"], "B")
    ids["c"] = _player(app, "c@example.com", ids["tournament"], "C")
    return ids


def test_series_game_tells_both_sides_and_no_one_else(app, series_setup):
    with app.app_context():
        states.change_match_state("val-cup", series_setup["game"], "live", None)
    told = _told(app, "match.started")
    assert told == {"a@example.com": (1, 1), "a2@example.com": (1, 1), "b@example.com": (1, 1)}
    with app.app_context():
        n = db.session.scalar(select(Notification).where(Notification.user_id == series_setup["b"]))
        assert n.title == "Live now: SF1, game 1: Team A vs Team B"
        assert n.url == "/tournaments/val-cup/series/sf1/"
        assert n.read_at is None and n.tournament_id == series_setup["tournament"]


def test_opted_out_player_gets_the_notification_but_no_email(app, series_setup):
    with app.app_context():
        preferences.set_email_opt_out(series_setup["b"], preferences.MATCHES, True)
        db.session.commit()
        states.change_match_state("val-cup", series_setup["game"], "live", None)
        score = {"A": 13, "B": 9}
        states.change_match_state("val-cup", series_setup["game"], "completed", None, winner="A", score=score)
    assert _told(app, "match.completed") == {
        "a@example.com": (1, 1),
        "a2@example.com": (1, 1),
        "b@example.com": (1, 0),
    }
    with app.app_context():
        body = db.session.scalar(
            select(Notification.body).where(
                Notification.user_id == series_setup["a"], Notification.event == "match.completed"
            )
        )
        assert "Team A won (13-9)" in body


def test_email_flag_off_writes_notifications_only(make_app):
    app = make_app(NOTIFICATIONS_EMAIL_ENABLED=False)
    with app.app_context():
        t = f.series_tournament("val-cup", teams=("A", "B"))
        game = f.game(f.series(t, "sf1", "A", "B", 3), None, state="scheduled")
        db.session.commit()
        tid, gid = t.id, game.id
    _player(app, "a@example.com", tid, "A")
    with app.app_context():
        states.change_match_state("val-cup", gid, "live", None)
    assert _told(app, "match.started") == {"a@example.com": (1, 0)}
    with app.app_context():
        assert db.session.scalars(select(Delivery).where(Delivery.channel == "email")).all() == []


def test_lobby_tells_the_teams_in_it_or_everyone_before_results(app):
    with app.app_context():
        t = f.br_tournament("br-cup", teams=("A", "B", "C"))
        empty = f.lobby(t, [], key="m1", state="scheduled")
        played = f.lobby(t, [("A", 1, 3), ("B", 2, 1)], key="m2", state="live")
        db.session.commit()
        tid, empty_id, played_id = t.id, empty.id, played.id
    for key in "ABC":
        _player(app, f"{key.lower()}@example.com", tid, key)
    with app.app_context():
        states.change_match_state("br-cup", empty_id, "live", None)
    assert set(_told(app, "match.started")) == {"a@example.com", "b@example.com", "c@example.com"}
    with app.app_context():
        states.change_match_state("br-cup", played_id, "disputed", None, reason="Wrong placements")
    assert _told(app, "match.disputed") == {"a@example.com": (1, 1), "b@example.com": (1, 1)}
    # leaderboard.updated fires on every result change and is for webhooks only.
    with app.app_context():
        assert db.session.scalars(select(Notification).where(Notification.event == "leaderboard.updated")).all() == []


def test_payment_tells_the_payer_only(app):
    staff = create_user(app, "staff@example.com", "staff password 1", staff=True)
    with app.app_context():
        t = f.br_tournament("br-cup", teams=("A", "B"))
        db.session.commit()
        tid = t.id
    payer = _player(app, "payer@example.com", tid, "A")
    _player(app, "mate@example.com", tid, "A")
    with app.app_context():
        registration = db.session.scalar(select(Registration).where(Registration.user_id == payer))
        payment = Payment(registration_id=registration.id, amount_cents=50000, currency="BDT", reference="TX-1")
        db.session.add(payment)
        db.session.commit()
        payments.verify_payment(payment.id, staff)
        payments.refund_payment(payment.id, staff, "Team withdrew")
    assert _told(app, "payment.verified") == {"payer@example.com": (1, 1)}
    assert _told(app, "payment.refunded") == {"payer@example.com": (1, 1)}


def test_completion_tells_everyone_and_override_tells_every_team_it_moved(app):
    with app.app_context():
        t = f.br_tournament("br-cup", teams=("A", "B", "C"))
        f.lobby(t, [("A", 1, 3), ("B", 2, 1), ("C", 3, 0)])
        db.session.commit()
        tid = t.id
    ids = {key: _player(app, f"{key.lower()}@example.com", tid, key) for key in "ABC"}
    staff = create_user(app, "staff@example.com", "staff password 1", staff=True)
    with app.app_context():
        db.session.get(User, ids["C"]).active = False
        db.session.commit()
        LS.complete_tournament(tid, staff)
    assert _told(app, "tournament.completed") == {"a@example.com": (1, 1), "b@example.com": (1, 1)}
    with app.app_context():
        body = db.session.scalar(select(Notification.body).where(Notification.user_id == ids["B"]))
        assert body.endswith("Team B finished 2nd.")
        LS.override_placement(tid, "B", 1, "Team A used an ineligible player", staff)
    # Both teams it moved are told, by email too, with before -> after and the reason.
    assert _told(app, "placement.overridden") == {"a@example.com": (1, 1), "b@example.com": (1, 1)}
    with app.app_context():
        n = db.session.scalar(
            select(Notification).where(Notification.event == "placement.overridden", Notification.user_id == ids["B"])
        )
        assert n.body == (
            "The organisers placed Team B 1st in the final results of Br Cup. Team B: 2nd -> 1st. "
            "Their reason: Team A used an ineligible player"
        )
