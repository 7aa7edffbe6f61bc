"""Domain events: each one written to the outbox (and its signal sent) on its real change only,
in the transaction of the change; nothing on a refused change or a no-op."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from sqlalchemy import select

import tests.factories as f
from app import signals
from app.errors import Conflict
from app.extensions import db
from app.models import Payment, Registration
from app.notifications import outbox
from app.notifications.models import Delivery, OutboxEvent, WebhookEndpoint
from app.services.accounts.tokens import create_token
from app.services.registration import payments
from app.services.standings.leaderboard import LeaderboardService as LS
from app.services.tournaments import states
from tests.conftest import create_user

ALL_SIGNALS = {
    "payment.verified": signals.payment_verified,
    "payment.refunded": signals.payment_refunded,
    "match.started": signals.match_started,
    "match.completed": signals.match_completed,
    "match.disputed": signals.match_disputed,
    "tournament.completed": signals.tournament_completed,
    "placement.overridden": signals.placement_overridden,
    "leaderboard.updated": signals.leaderboard_updated,
    "match.corrected": signals.match_corrected,
}


@pytest.fixture
def app(make_app):
    return make_app(
        NOTIFICATIONS_WEBHOOK_ENABLED=True,
        WEBHOOK_DELIVERY_URL="http://127.0.0.1:9/hooks",
        WEBHOOK_SECRET_KEY="test-webhook-secret",
        WEBHOOK_ALLOW_PRIVATE_NETWORKS=True,
    )


class Recorder:
    """Collects outbox events written since the last look, and the signals sent meanwhile."""

    def __init__(self) -> None:
        self.seen = 0
        self.signals: list[str] = []
        self._stack = ExitStack()
        for name, signal in ALL_SIGNALS.items():
            self._stack.enter_context(signal.connected_to(self._receiver(name)))

    def _receiver(self, name):
        def receive(sender, **extra):
            self.signals.append(name)

        return receive

    def new(self) -> list[tuple[str, dict]]:
        rows = db.session.scalars(select(OutboxEvent).where(OutboxEvent.id > self.seen).order_by(OutboxEvent.id)).all()
        if rows:
            self.seen = rows[-1].id
        return [(r.type, r.data) for r in rows]

    def new_types(self) -> list[str]:
        return [t for t, _ in self.new()]

    def take_signals(self) -> list[str]:
        got, self.signals = self.signals, []
        return got

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def rec(app):
    with app.app_context():
        recorder = Recorder()
        yield recorder
        recorder.close()


def test_lobby_state_moves_emit_their_events_and_signals(app, staff_user, rec):
    t = f.br_tournament()
    m = f.lobby(t, [("A", 1, 3), ("B", 2, 0)], state="scheduled")
    db.session.commit()
    steps = [
        ("live", ["match.started"]),
        ("completed", ["match.completed", "leaderboard.updated"]),
        ("disputed", ["match.disputed", "leaderboard.updated"]),
        ("completed", ["match.completed", "leaderboard.updated"]),
    ]
    for state, expected in steps:
        states.change_match_state(t.id, m.id, state, staff_user)
        assert rec.new_types() == expected, state
        assert rec.take_signals() == expected, state


def test_event_data_for_a_lobby(app, staff_user, rec):
    t = f.br_tournament()
    m = f.lobby(t, [("A", 1, 3)], state="live", stage="Day 1")
    db.session.commit()
    states.change_match_state(t.id, m.id, "completed", staff_user)
    (completed_type, completed), (board_type, board) = rec.new()
    assert completed_type == "match.completed"
    assert completed == {
        "match_id": m.id,
        "match_key": m.key,
        "tournament_id": t.id,
        "tournament_slug": "br-cup",
        "state": "completed",
        "stage": "Day 1",
    }
    assert board_type == "leaderboard.updated"
    db.session.refresh(t)
    assert board == {"tournament_id": t.id, "tournament_slug": "br-cup", "results_version": t.results_version}


def test_moves_that_do_not_change_standings_emit_no_leaderboard_update(app, staff_user, rec):
    t = f.br_tournament()
    m = f.lobby(t, [("A", 1, 0)], state="live")
    db.session.commit()
    states.change_match_state(t.id, m.id, "disputed", staff_user)  # was not counted, still is not
    assert rec.new_types() == ["match.disputed"]
    states.change_match_state(t.id, m.id, "cancelled", staff_user)  # no event type for a cancellation
    assert rec.new_types() == []
    assert rec.take_signals() == ["match.disputed"]


def test_refused_moves_emit_nothing(app, staff_user, rec):
    t = f.br_tournament()
    m = f.lobby(t, [("A", 1, 0)], state="scheduled")
    db.session.commit()
    with pytest.raises(Conflict):
        states.change_match_state(t.id, m.id, "completed", staff_user)
    db.session.rollback()
    assert rec.new_types() == []
    assert rec.take_signals() == []
    assert db.session.scalar(select(db.func.count(Delivery.id))) == 0


def test_a_lobby_saved_completed_is_announced_once_like_a_completion(app, staff_user, rec):
    t = f.br_tournament()
    db.session.commit()
    entry = {"stage": "Day 1", "results": [{"participant": "A", "placement": 1, "kills": 2}]}
    states.record_br_match(t.id, entry, staff_user)
    assert rec.new_types() == ["match.completed", "leaderboard.updated"]
    assert rec.take_signals() == ["match.completed", "leaderboard.updated"]
    states.record_br_match(t.id, {**entry, "state": "live"}, staff_user)
    assert rec.new_types() == []  # a live lobby changes no standings and is announced when it completes
    assert rec.take_signals() == []
    states.record_br_match(t.id, {**entry, "state": "scheduled", "results": []}, staff_user)
    assert rec.new_types() == []
    assert rec.take_signals() == []


def test_series_game_completion_names_its_series(app, staff_user, rec):
    t = f.series_tournament()
    s = f.series(t, "gf", "A", "B", 3)
    g = f.game(s, None, state="live")
    db.session.commit()
    states.change_match_state(t.id, g.id, "completed", staff_user, winner="A", score={"A": 13, "B": 9})
    events = rec.new()
    assert [t_ for t_, _ in events] == ["match.completed", "leaderboard.updated"]
    assert events[0][1]["series_key"] == "gf"
    assert events[0][1]["match_key"] == "gf-1"


@pytest.fixture
def payment_id(app):
    user = create_user(app, "captain@example.com", "password123")
    with app.app_context():
        t = f.br_tournament("pay-cup")
        registration = Registration(tournament_id=t.id, participant_id=f.participant(t, "A").id, user_id=user)
        db.session.add(registration)
        db.session.flush()
        p = Payment(registration_id=registration.id, amount_cents=50000, method="bKash", reference="TX-99887766")
        db.session.add(p)
        db.session.commit()
        return p.id


def test_payment_events(app, staff_user, payment_id, rec):
    payments.verify_payment(payment_id, staff_user)
    [(kind, data)] = rec.new()
    assert kind == "payment.verified"
    payment = db.session.get(Payment, payment_id)
    assert data == {
        "payment_id": payment_id,
        "registration_id": None,  # staff added the team directly: no entry (test_probe_webhook_ids.py)
        "roster_registration_id": payment.registration_id,
        "tournament_id": payment.registration.tournament_id,
        "tournament_slug": "pay-cup",
        "participant_id": "A",
        "participant_name": "Team A",
        "status": "verified",
    }
    with pytest.raises(Conflict):
        payments.verify_payment(payment_id, staff_user)  # no-op: already verified
    assert rec.new() == []
    payments.refund_payment(payment_id, staff_user, "Team withdrew")
    assert [(k, d["status"]) for k, d in rec.new()] == [("payment.refunded", "refunded")]
    assert rec.take_signals() == ["payment.verified", "payment.refunded"]


def test_rejected_payment_is_no_event(app, staff_user, payment_id, rec):
    payments.reject_payment(payment_id, staff_user, "No money arrived")
    assert rec.new() == []
    assert rec.take_signals() == []


def test_completion_and_overrides(app, staff_user, rec):
    t = f.br_tournament()
    f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 3, 1), ("D", 4, 0)])
    db.session.commit()
    LS.complete_tournament(t.id, staff_user)
    [(kind, data)] = rec.new()
    assert (kind, data) == (
        "tournament.completed",
        {"tournament_id": t.id, "tournament_slug": "br-cup", "tournament_name": "Br Cup", "status": "completed"},
    )
    with pytest.raises(Conflict):
        LS.complete_tournament(t.id, staff_user)
    db.session.rollback()
    assert rec.new() == []

    reason = "Disqualified team reinstated"
    LS.override_placement(t.id, "C", 1, reason, staff_user)
    [(kind, data)] = rec.new()
    assert kind == "placement.overridden"
    assert data == {
        "tournament_id": t.id,
        "tournament_slug": "br-cup",
        "participant_id": "C",
        "participant_name": "Team C",
        "old_rank": 3,
        "new_rank": 1,
    }
    LS.override_placement(t.id, "C", 1, reason, staff_user)  # identical: changes nothing
    assert rec.new() == []
    LS.clear_override(t.id, "C", "Pin entered by mistake", staff_user)
    assert [(k, d["old_rank"], d["new_rank"]) for k, d in rec.new()] == [("placement.overridden", 1, 3)]
    assert rec.take_signals() == ["tournament.completed", "placement.overridden", "placement.overridden"]


def test_a_failing_receiver_rolls_back_the_change_with_its_event(app, staff_user, rec):
    """Signals are sent inside the change's transaction: a receiver that raises (as a crash
    there would) aborts the change, so there is never a change without its event or the reverse."""
    from app.models import AuditEvent, Match

    t = f.br_tournament()
    m = f.lobby(t, [("A", 1, 0)], state="scheduled")
    db.session.commit()

    def explode(sender, **extra):
        raise RuntimeError("process died here")

    with signals.match_started.connected_to(explode), pytest.raises(RuntimeError):
        states.change_match_state(t.id, m.id, "live", staff_user)
    db.session.rollback()
    assert db.session.get(Match, m.id).state == "scheduled"
    changes = select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "match.state_changed")
    assert db.session.scalar(changes) == 0
    assert rec.new_types() == []
    assert db.session.scalar(select(db.func.count(Delivery.id))) == 0


def test_rollback_drops_the_event_with_the_change(app, rec):
    t = f.br_tournament()
    db.session.commit()
    outbox.emit("leaderboard.updated", tournament_id=t.id, data=outbox.leaderboard_data(t), subject=t)
    db.session.rollback()
    assert rec.new() == []
    assert db.session.scalar(select(db.func.count(Delivery.id))) == 0


def test_webhook_deliveries_follow_the_flag_and_endpoint_filters(make_app):
    app = make_app(NOTIFICATIONS_WEBHOOK_ENABLED=False, WEBHOOK_DELIVERY_URL="http://127.0.0.1:9/hooks")
    with app.app_context():
        t = f.br_tournament()
        db.session.commit()
        event = outbox.emit("leaderboard.updated", tournament_id=t.id, data=outbox.leaderboard_data(t))
        db.session.commit()
        assert event.event_id and len(event.event_id) == 36
        assert db.session.scalar(select(db.func.count(Delivery.id)).where(Delivery.channel == "webhook")) == 0

    app = make_app(NOTIFICATIONS_WEBHOOK_ENABLED=True, WEBHOOK_DELIVERY_URL="")
    with app.app_context():
        t = f.br_tournament("other-cup")
        every = WebhookEndpoint(url="https://a.example/", secret="s1", event_types=[])
        only_matches = WebhookEndpoint(url="https://b.example/", secret="s2", event_types=["match.completed"])
        off = WebhookEndpoint(url="https://c.example/", secret="s3", event_types=[], enabled=False)
        db.session.add_all([every, only_matches, off])
        db.session.commit()
        outbox.emit("leaderboard.updated", tournament_id=t.id, data=outbox.leaderboard_data(t))
        db.session.commit()
        targets = db.session.scalars(select(Delivery.endpoint_id).where(Delivery.channel == "webhook")).all()
        assert targets == [every.id]  # no WEBHOOK_DELIVERY_URL row, not the filtered or disabled endpoint


def test_api_state_change_writes_the_same_events(app, client, staff_user, rec):
    """One rule, two doors: the API goes through the same service and so the same outbox."""
    t = f.br_tournament("api-cup")
    m = f.lobby(t, [("A", 1, 0)], state="live")
    db.session.commit()
    token = create_token(staff_user)
    response = client.post(
        f"/api/tournaments/api-cup/matches/{m.id}/state/",
        json={"state": "completed"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert rec.new_types() == ["match.completed", "leaderboard.updated"]


def test_a_correction_that_changes_nothing_announces_nothing(app, staff_user, rec):
    from app.models import AuditEvent
    from app.services.results import lobbies

    t = f.br_tournament()
    m = f.lobby(t, [("A", 1, 2), ("B", 2, 0)], stage="Day 1")
    db.session.commit()
    rows = [{"participant": "A", "placement": "1", "kills": "2"}, {"participant": "B", "placement": "2", "kills": "0"}]
    audits = db.session.scalar(select(db.func.count(AuditEvent.id)))
    match, check = lobbies.correct_lobby(t.id, m.id, "Day 1", rows, m.version, staff_user)
    assert check.ok and match.version == m.version
    assert rec.new_types() == [] and rec.take_signals() == []
    assert db.session.scalar(select(db.func.count(AuditEvent.id))) == audits

    rows[1]["kills"] = "3"
    match, _ = lobbies.correct_lobby(t.id, m.id, "Day 1", rows, match.version, staff_user)
    # The team whose line changed is told (people only), webhooks get leaderboard.updated.
    assert rec.new_types() == ["match.corrected", "leaderboard.updated"]
    assert rec.take_signals() == ["match.corrected", "leaderboard.updated"]


def test_a_series_game_entered_already_played_is_not_a_state_change(app, staff_user, rec):
    from app.services.results import series as series_service

    t = f.series_tournament()
    f.series(t, "gf", "A", "B", 3)
    db.session.commit()
    series_service.record_game(t.id, "gf", "A", {"A": 13, "B": 9}, staff_user)
    assert rec.new_types() == ["leaderboard.updated"]
    assert rec.take_signals() == ["leaderboard.updated"]
