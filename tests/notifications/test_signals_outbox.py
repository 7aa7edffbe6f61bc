"""Signals drive the outbox (issue 13): services announce changes only as the signals of
`app.signals`, inside the change's transaction; the notification layer's listeners write the
outbox in the same session. Checked by reading the source (no service imports the notification
layer, and the reverse; no import fallbacks around our own modules) and by behaviour: every event
type reaches the outbox through its signal and only through it, commits with its change, and a
failure while writing it takes the change and its audit row down too."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

import tests.factories as f
from app import signals
from app.extensions import db
from app.models import AuditEvent, Match, Notification, Payment, Registration
from app.notifications import listeners, outbox, recipients
from app.notifications.models import Delivery, OutboxEvent
from app.services import announcements
from app.services.registration import decisions, entries, payments, settings_save
from app.services.results import lobbies
from app.services.standings.leaderboard import LeaderboardService as LS
from app.services.tournaments import states
from tests import ROOT
from tests.conftest import create_user

APP = Path(ROOT) / "app"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
REGISTRATION = {
    "opens_at": "2026-11-30T00:00:00Z",
    "closes_at": "2026-12-04T00:00:00Z",
    "capacity": 8,
    "roster_min": 1,
    "roster_max": 4,
    "methods": [{"name": "bkash", "instructions": "bKash merchant 01700000000"}],
    "payment_deadline_hours": 48,
    "auto_confirm_free": True,
    "check_in_minutes": None,
}
_SERIAL = itertools.count(1)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_service_imports_the_notification_layer():
    offenders = {
        str(path.relative_to(APP)): sorted(m for m in imported_modules(path) if m.startswith("app.notifications"))
        for path in (APP / "services").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_notification_layer_imports_no_service():
    offenders = {
        str(path.relative_to(APP)): sorted(m for m in imported_modules(path) if m.startswith("app.services"))
        for path in (APP / "notifications").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def _caught(handler: ast.ExceptHandler) -> set[str]:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in types if t is not None}


def _imports_ours(body: list[ast.stmt]) -> bool:
    for node in (n for stmt in body for n in ast.walk(stmt)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "app":
            return True
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "app" for a in node.names):
            return True
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module"):
            return True
    return False


def test_no_import_fallbacks_around_our_own_modules():
    """A missing module of ours must be a crash at start, not silently lost notifications."""
    found = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Try)
                and _imports_ours(node.body)
                and any(_caught(h) & {"ImportError", "ModuleNotFoundError"} for h in node.handlers)
            ):
                found.append(f"{path.relative_to(APP)}:{node.lineno}")
    assert found == []


def test_every_signal_has_its_listener(app):
    declared = {name: value for name, value in vars(signals).items() if hasattr(value, "send") and name != "deltacrown"}
    assert set(declared.values()) == set(listeners.RECEIVERS)
    assert {s.name for s in listeners.RECEIVERS} == set(outbox.EVENT_TYPES)
    for signal, receiver in listeners.RECEIVERS.items():
        assert receiver in list(signal.receivers_for(object())), signal.name


# ----------------------------------------------------------------------------- behaviour per type


@pytest.fixture
def app(make_app):
    return make_app(
        NOTIFICATIONS_WEBHOOK_ENABLED=True,
        WEBHOOK_DELIVERY_URL="http://127.0.0.1:9/hooks",
        WEBHOOK_SECRET_KEY="test-webhook-secret",
        WEBHOOK_ALLOW_PRIVATE_NETWORKS=True,
    )


def _payment(app) -> int:
    n = next(_SERIAL)
    user = create_user(app, f"captain{n}@example.com", "password123")
    with app.app_context():
        t = f.br_tournament(f"pay-cup-{n}")
        registration = Registration(tournament_id=t.id, participant_id=f.participant(t, "A").id, user_id=user)
        db.session.add(registration)
        db.session.flush()
        p = Payment(registration_id=registration.id, amount_cents=50000, method="bKash", reference="TX-1")
        db.session.add(p)
        db.session.commit()
        return p.id


def _lobby(state: str) -> tuple[int, int]:
    t = f.br_tournament(f"lobby-cup-{next(_SERIAL)}")
    m = f.lobby(t, [("A", 1, 3), ("B", 2, 0)], state=state)
    db.session.commit()
    return t.id, m.id


def _completed_tournament(staff: int) -> int:
    t = f.br_tournament(f"final-cup-{next(_SERIAL)}")
    f.lobby(t, [("A", 1, 5), ("B", 2, 3), ("C", 3, 1)])
    db.session.commit()
    LS.complete_tournament(t.id, staff)
    return t.id


# Event type -> (prepare, act): the real service call that makes the change.
def _cases(app, staff: int) -> dict[str, Callable[[], Callable[[], object]]]:
    def payment_verified():
        payment = _payment(app)
        return lambda: payments.verify_payment(payment, staff)

    def payment_refunded():
        payment = _payment(app)
        payments.verify_payment(payment, staff)
        return lambda: payments.refund_payment(payment, staff, "Team withdrew before the start")

    def match(state_from: str, state_to: str):
        def prepare():
            t, m = _lobby(state_from)
            return lambda: states.change_match_state(t, m, state_to, staff)

        return prepare

    def tournament_completed():
        t = f.br_tournament(f"open-cup-{next(_SERIAL)}")
        f.lobby(t, [("A", 1, 5), ("B", 2, 3)])
        db.session.commit()
        return lambda: LS.complete_tournament(t.id, staff)

    def placement_overridden():
        t = _completed_tournament(staff)
        return lambda: LS.override_placement(t, "C", 1, "Penalty appeal upheld by the referee", staff)

    def entry(stage: str):
        """A paid registration, taken to just before the step that makes the event."""

        def prepare():
            n = next(_SERIAL)
            t = f.br_tournament(f"reg-cup-{n}", status="registration", teams=("invited",))
            db.session.commit()
            settings_save.save_settings(
                t.id, {**REGISTRATION, "fee": {"amount": "500.00", "currency": "BDT"}}, staff, now=NOW
            )
            captain = create_user(app, f"reg-captain{n}@example.com", "password123")
            registered = entries.register(t.id, captain, f"Team {n}", "TM", now=NOW)

            def submit():
                return entries.submit_proof(
                    registered.id, captain, method="bkash", transaction_id=f"TXN{n}", amount="500.00", now=NOW
                )

            if stage == "submit":
                return submit
            if stage == "withdraw":
                return lambda: entries.withdraw(registered.id, captain, now=NOW)
            submit()
            if stage == "reject":
                return lambda: decisions.decide(registered.id, "reject", staff, reason="amount not received", now=NOW)
            return lambda: decisions.decide(registered.id, "verify", staff, now=NOW)

        return prepare

    def offered():
        """A full paid tournament with a team waiting: the first team withdraws, the next is offered."""
        n = next(_SERIAL)
        t = f.br_tournament(f"full-cup-{n}", status="registration", teams=())
        db.session.commit()
        fee = {"amount": "500.00", "currency": "BDT"}
        settings_save.save_settings(t.id, {**REGISTRATION, "capacity": 1, "fee": fee}, staff, now=NOW)
        first = create_user(app, f"first{n}@example.com", "password123")
        holding = entries.register(t.id, first, f"First {n}", None, now=NOW)
        entries.register(t.id, create_user(app, f"next{n}@example.com", "password123"), f"Next {n}", None, now=NOW)
        return lambda: entries.withdraw(holding.id, first, now=NOW)

    def announced():
        """A live tournament with one player on a team: staff send them an announcement."""
        n = next(_SERIAL)
        t = f.br_tournament(f"news-cup-{n}", status="live")
        db.session.commit()
        player = create_user(app, f"news{n}@example.com", "password123")
        db.session.add(Registration(tournament_id=t.id, participant_id=f.participant(t, "A").id, user_id=player))
        db.session.commit()
        return lambda: announcements.announce(t.id, "Room", "ID 1234", announcements.new_token(), staff)

    def corrected():
        t, m = _lobby("completed")
        version = db.session.get(Match, m).version
        rows = [{"participant": "A", "placement": 2, "kills": 3}, {"participant": "B", "placement": 1, "kills": 0}]
        return lambda: lobbies.correct_lobby(t, m, None, rows, version, staff, reason="Placements were swapped")

    return {
        "tournament.announcement": announced,
        "match.corrected": corrected,
        "registration.offered": offered,
        "payment.submitted": entry("submit"),
        "payment.rejected": entry("reject"),
        "registration.confirmed": entry("verify"),
        "registration.cancelled": entry("withdraw"),
        "payment.verified": payment_verified,
        "payment.refunded": payment_refunded,
        "match.started": match("scheduled", "live"),
        "match.completed": match("live", "completed"),
        "match.disputed": match("completed", "disputed"),
        "tournament.completed": tournament_completed,
        "placement.overridden": placement_overridden,
        "leaderboard.updated": match("live", "completed"),
    }


def _events() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id)))


@pytest.mark.parametrize("event_type", list(outbox.EVENT_TYPES))
def test_every_event_type_reaches_the_outbox_through_its_signal(app, staff_user, event_type):
    signal = next(s for s in listeners.RECEIVERS if s.name == event_type)
    receiver = listeners.RECEIVERS[signal]
    with app.app_context():
        act = _cases(app, staff_user)[event_type]()
        before = _events()
        signal.disconnect(receiver)
        try:
            act()  # the change is made; with the listener off, no event of this type is written
        finally:
            signal.connect(receiver)
        assert _events()[len(before) :].count(event_type) == 0

    with app.app_context():  # the same change again, on fresh data, with the listener on
        act = _cases(app, staff_user)[event_type]()
        before = _events()
        act()
        assert _events()[len(before) :].count(event_type) == 1


def test_an_event_rolled_back_with_its_change_leaves_nothing(app, staff_user, monkeypatch):
    with app.app_context():
        user = create_user(app, "player@example.com", "password123")
        t = f.br_tournament()
        m = f.lobby(t, [("A", 1, 0)], state="scheduled")
        db.session.add(Registration(tournament_id=t.id, participant_id=f.participant(t, "A").id, user_id=user))
        db.session.commit()
        t_id, m_id = t.id, m.id

        def failing_commit():
            raise RuntimeError("the database went away at commit")

        monkeypatch.setattr(db.session, "commit", failing_commit)
        with pytest.raises(RuntimeError):
            states.change_match_state(t_id, m_id, "live", staff_user)
        monkeypatch.undo()
        db.session.rollback()
        assert db.session.get(Match, m_id).state == "scheduled"
        assert _events() == []
        assert db.session.scalar(select(func.count(Delivery.id))) == 0
        assert db.session.scalar(select(func.count(Notification.id))) == 0

        # And the same change, committed, carries everything with it.
        states.change_match_state(t_id, m_id, "live", staff_user)
        assert _events() == ["match.started"]
        assert db.session.scalar(select(func.count(Notification.id))) == 1


def test_a_failure_while_writing_the_event_rolls_back_the_change_and_its_audit_row(app, staff_user, monkeypatch):
    """Say the recipient lookup raises: the change must not be committed without its event."""
    with app.app_context():
        t = f.br_tournament()
        m = f.lobby(t, [("A", 1, 0)], state="live")
        db.session.commit()
        t_id, m_id = t.id, m.id

        def broken_lookup(*args, **kwargs):
            raise LookupError("recipient lookup failed")

        monkeypatch.setattr(recipients, "recipients_for", broken_lookup)
        with pytest.raises(LookupError):
            states.change_match_state(t_id, m_id, "completed", staff_user)
        db.session.rollback()
        assert db.session.get(Match, m_id).state == "live"
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.target_id == m_id)) == 0
        assert _events() == []
        assert db.session.scalar(select(func.count(Delivery.id))) == 0
