"""`flask demo` with email on loads exactly what it loads with email off, in one transaction: a
failure half-way leaves nothing, and the next run loads it all (issue 28.2)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Entry, Tournament, User
from app.notifications.models import Delivery
from app.services.registration import decisions
from app.services.support.demo import REGISTRATION_SLUG


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count(Tournament.id))),
            db.session.scalar(select(func.count(Entry.id))),
            db.session.scalar(select(func.count(User.id))),
        )


def test_the_demo_loads_whole_with_email_on(make_app):
    app = make_app(NOTIFICATIONS_EMAIL_ENABLED=True)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Demo loaded" in result.stdout and re.search(r"Staff login: \S+ / \S+", result.stdout)
    assert result.stdout.count("Captain login") == 6
    assert "email on" in result.stdout
    with app.app_context():
        tournament = db.session.scalar(select(Tournament).where(Tournament.slug == REGISTRATION_SLUG))
        statuses = sorted(db.session.scalars(select(Entry.status).where(Entry.tournament_id == tournament.id)))
        assert statuses == ["confirmed", "pending_payment", "pending_payment", "pending_payment", "pending_payment",
                            "waitlisted"]  # fmt: skip
        # The captains' news is queued for email like any other (the worker sends it).
        assert db.session.scalar(select(func.count(Delivery.id)).where(Delivery.channel == "email")) > 0


def test_a_demo_that_fails_half_way_leaves_nothing_and_loads_next_time(make_app, monkeypatch):
    app = make_app(NOTIFICATIONS_EMAIL_ENABLED=True)
    real = decisions.decide

    def failing(*args, **kwargs):
        raise RuntimeError("the mail server fell over")

    monkeypatch.setattr(decisions, "decide", failing)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0
    assert _counts(app) == (0, 0, 0)

    monkeypatch.setattr(decisions, "decide", real)
    again = app.test_cli_runner().invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "Demo loaded" in again.stdout and "already loaded" not in again.stdout
    assert re.search(r"Staff login: \S+ / \S+ ", again.stdout)
    tournaments, entries, _users = _counts(app)
    assert tournaments == 6 and entries == 6


@pytest.mark.parametrize("email_on", [False, True])
def test_the_demo_is_the_same_with_email_on_or_off(make_app, email_on):
    app = make_app(NOTIFICATIONS_EMAIL_ENABLED=email_on)
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    tournaments, entries, users = _counts(app)
    assert (tournaments, entries) == (6, 6) and users == 1 + 3 + 6
