"""State machines: tournaments, matches and payments, with their audit trail and signals."""

from __future__ import annotations

import pytest

from app import signals
from app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.extensions import db
from app.models import AuditEvent, Payment, PaymentVerification, Registration
from app.services.registration import payments
from app.services.standings.leaderboard import LeaderboardService as LS
from app.services.tournaments import states
from tests import factories as f
from tests.conftest import create_user


def test_tournament_moves_one_step_at_a_time(app, staff_user):
    with app.app_context():
        t = f.br_tournament(status="draft")
        db.session.commit()
        with pytest.raises(Conflict, match="draft; it cannot move to live"):
            states.advance_tournament(t.id, "live", staff_user)
        assert states.advance_tournament(t.slug, "registration", staff_user).status == "registration"
        assert states.advance_tournament(t.id, "live", staff_user).status == "live"
        with pytest.raises(Conflict):
            states.advance_tournament(t.id, "registration", staff_user)
        with pytest.raises(ValidationError, match="complete"):
            states.advance_tournament(t.id, "completed", staff_user)
        events = db.session.scalars(db.select(AuditEvent).filter_by(action="tournament.status_changed")).all()
        assert [(e.before["status"], e.after["status"]) for e in events] == [
            ("draft", "registration"),
            ("registration", "live"),
        ]


def test_completion_only_from_live(app):
    with app.app_context():
        t = f.br_tournament(status="registration")
        db.session.commit()
        with pytest.raises(Conflict, match="only a live tournament"):
            LS.complete_tournament(t.id)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["live", "completed", "disputed", "completed"], True),
        (["live", "disputed", "cancelled"], True),
        (["cancelled"], True),
        (["completed"], False),  # scheduled cannot jump to completed without being played
        (["live", "scheduled"], False),
        (["cancelled", "live"], False),
        (["live", "completed", "live"], False),
    ],
)
def test_match_state_machine(app, staff_user, path, allowed):
    with app.app_context():
        t = f.br_tournament()
        m = f.lobby(t, [("A", 1, 0)], state="scheduled")
        db.session.commit()
        received = []

        def listener(sender, **extra):
            received.append((sender.key, extra["state"]))

        with (
            signals.match_started.connected_to(listener),
            signals.match_completed.connected_to(listener),
            signals.match_disputed.connected_to(listener),
        ):
            if allowed:
                for state in path:
                    assert states.change_match_state(t.id, m.id, state, staff_user).state == state
                assert [s for _, s in received] == [s for s in path if s != "cancelled"]
            else:
                with pytest.raises(Conflict):
                    for state in path:
                        states.change_match_state(t.id, m.id, state, staff_user)


def test_completed_at_stamped_when_match_completes(app, staff_user):
    with app.app_context():
        t = f.br_tournament()
        m = f.lobby(t, [("A", 1, 0)], state="live")
        db.session.commit()
        assert states.change_match_state(t.id, m.id, "completed", staff_user).completed_at is not None
        assert LS.calculate_br_standings(t.id)[0]["participant_id"] == "A"


def test_match_changes_refused_after_completion_and_for_unknown(app, staff_user):
    with app.app_context():
        t = f.br_tournament()
        m = f.lobby(t, [("A", 1, 0)])
        db.session.commit()
        with pytest.raises(NotFound):
            states.change_match_state(t.id, 99999, "disputed", staff_user)
        LS.complete_tournament(t.id)
        with pytest.raises(Conflict, match="frozen"):
            states.change_match_state(t.id, m.id, "disputed", staff_user)


@pytest.fixture
def payment(app):
    user = create_user(app, "captain@example.com", "password123")
    with app.app_context():
        t = f.br_tournament()
        registration = Registration(tournament_id=t.id, participant_id=f.participant(t, "A").id, user_id=user)
        db.session.add(registration)
        db.session.flush()
        p = Payment(registration_id=registration.id, amount_cents=50000, currency="BDT", method="bKash")
        db.session.add(p)
        db.session.commit()
        return p.id


def test_payment_verify_then_refund(app, staff_user, payment):
    with app.app_context():
        got = []
        with (
            signals.payment_verified.connected_to(lambda s, **k: got.append("verified")),
            signals.payment_refunded.connected_to(lambda s, **k: got.append("refunded")),
        ):
            assert payments.verify_payment(payment, staff_user).status == "verified"
            with pytest.raises(Conflict):
                payments.verify_payment(payment, staff_user)
            with pytest.raises(ValidationError, match="reason"):
                payments.refund_payment(payment, staff_user, "  ")
            assert payments.refund_payment(payment, staff_user, "Team withdrew before start").status == "refunded"
        assert got == ["verified", "refunded"]
        rows = db.session.scalars(db.select(PaymentVerification).filter_by(payment_id=payment)).all()
        assert [(r.status, r.actor_id) for r in rows] == [("verified", staff_user), ("refunded", staff_user)]
        actions = db.session.scalars(db.select(AuditEvent.action).filter_by(target_type="payment")).all()
        assert actions == ["payment.verified", "payment.refunded"]


def test_payment_rejected_is_final_and_needs_staff(app, staff_user, payment):
    player = create_user(app, "fan@example.com", "password123")
    with app.app_context():
        with pytest.raises(PermissionDenied):
            payments.verify_payment(payment, player)
        payments.reject_payment(payment, staff_user, "Transaction id not found")
        with pytest.raises(Conflict):
            payments.verify_payment(payment, staff_user)
        with pytest.raises(NotFound):
            payments.verify_payment(424242, staff_user)
        with pytest.raises(ValidationError):
            payments.decide_payment(payment, "paid", staff_user)
        assert db.session.get(Payment, payment).status == "rejected"


def test_series_game_completes_with_its_result(app, client, staff_user):
    from app.services.accounts.tokens import create_token

    with app.app_context():
        t = f.series_tournament("val")
        s = f.series(t, "sf", "A", "B", 3)
        f.game(s, "A", (13, 5))
        g2 = f.game(s, None, None, state="live")
        g3 = f.game(s, None, None, state="scheduled")
        db.session.commit()
        token = create_token(staff_user)
        ids = (g2.id, g3.id)
    headers = {"Authorization": f"Bearer {token}"}
    url = "/api/tournaments/val/matches/{}/state/"
    bad = [
        ({"state": "completed"}, "winner: required"),
        ({"state": "completed", "winner": "Z"}, "winner: must be A or B"),
        ({"state": "completed", "winner": "A", "score": {"A": 5, "B": 13}}, "higher score"),
        ({"state": "completed", "winner": "A", "score": {"A": 13}}, "score:"),
        ({"state": "disputed", "winner": "A", "reason": "Map vote"}, "only when completing a series game"),
        ({"state": "disputed"}, "reason: a dispute needs a reason"),
    ]
    for body, needle in bad:
        response = client.post(url.format(ids[0]), json=body, headers=headers)
        assert response.status_code == 400 and needle in response.get_json()["error"], body
    ok = client.post(
        url.format(ids[0]), json={"state": "completed", "winner": "A", "score": {"A": 13, "B": 9}}, headers=headers
    )
    assert ok.status_code == 200
    with app.app_context():
        summary = LS.series_summary_by_key("val", "sf")
        assert (summary["status"], summary["series_winner_id"], summary["games"][1]["score"]) == (
            "completed",
            "A",
            {"A": 13, "B": 9},
        )
    assert client.post(url.format(ids[1]), json={"state": "live"}, headers=headers).status_code == 200
    decided = client.post(url.format(ids[1]), json={"state": "completed", "winner": "B"}, headers=headers)
    assert decided.status_code == 409 and "already decided" in decided.get_json()["error"]


def test_disputed_keeps_a_time_and_empty_lobby_cannot_complete(app, staff_user):
    with app.app_context():
        t = f.br_tournament()
        played = f.lobby(t, [("A", 1, 0)], state="live")
        empty = f.lobby(t, [], state="live")
        db.session.commit()
        assert states.change_match_state(t.id, played.id, "disputed", staff_user).completed_at is not None
        with pytest.raises(Conflict, match="no results"):
            states.change_match_state(t.id, empty.id, "completed", staff_user)


def test_completed_tournament_with_scheduled_lobby_round_trips(app, staff_user):
    from app.services.tournaments.file import export_tournament, import_tournament

    with app.app_context():
        t = f.br_tournament("with-spare")
        f.lobby(t, [("A", 1, 3), ("B", 2, 1)])
        f.lobby(t, [], state="scheduled")
        db.session.commit()
        LS.complete_tournament(t.id)
        doc = export_tournament("with-spare")
        doc["tournament"]["slug"] = "with-spare-copy"
        import_tournament(doc)

        def ranks(slug):
            return [(r["participant_id"], r["rank"], r["total_points"]) for r in LS.results(slug)]

        assert ranks("with-spare-copy") == ranks("with-spare") == [("A", 1, 15), ("B", 2, 10), ("C", 3, 0), ("D", 3, 0)]


def test_payment_decided_once_under_concurrency(app, staff_user, payment):
    import threading

    barrier = threading.Barrier(6)
    outcomes = []

    def verify():
        with app.app_context():
            try:
                barrier.wait()
                payments.verify_payment(payment, staff_user)
                outcomes.append("ok")
            except Conflict:
                outcomes.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=verify) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["ok"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PaymentVerification.id))) == 1
