"""Match and results emails name the reader's team and carry what changed and why, in both parts:
a dispute's reason and its settlement (issue 28.4), a lobby correction with before -> after and
`leaderboard.updated` (issue 26.3), overrides told to every team they moved and marked wherever
the final results appear (issue 28.8, 26.12)."""

from __future__ import annotations

import csv
import email
import io
import json
import re
from email import policy

import pytest
from sqlalchemy import select

import tests.factories as f
from app.extensions import db
from app.models import AuditEvent, Match, Notification, Registration, User
from app.notifications import email as notification_email
from app.notifications.models import Delivery, OutboxEvent
from app.services.results import lobbies
from app.services.standings.leaderboard import LeaderboardService as LS
from app.services.tournaments import states
from tests.conftest import create_user

BASE = "https://play.example.org"


@pytest.fixture
def cup(make_app):
    """A live battle royale with one player per team (A, B, C) and one completed lobby."""
    app = make_app(NOTIFICATIONS_EMAIL_ENABLED=True, NOTIFICATIONS_WEBHOOK_ENABLED=False, PUBLIC_BASE_URL=BASE)
    staff = create_user(app, "staff@example.com", "staff password 1", staff=True)
    players = {key: create_user(app, f"{key.lower()}@example.com", "player password 1") for key in "ABC"}
    with app.app_context():
        t = f.br_tournament("monsoon-cup", teams=("A", "B", "C"))
        m = f.lobby(t, [("A", 1, 17), ("B", 2, 5), ("C", 3, 1)], key="m2", state="live")
        for key, user_id in players.items():
            db.session.add(Registration(tournament_id=t.id, participant_id=f.participant(t, key).id, user_id=user_id))
        db.session.commit()
        ids = {"app": app, "staff": staff, "t": t.id, "slug": t.slug, "m": m.id, **players}
    return ids


def _email(app, type_, user_id):
    with app.app_context():
        delivery = db.session.scalars(
            select(Delivery)
            .join(OutboxEvent)
            .where(OutboxEvent.type == type_, Delivery.channel == "email", Delivery.user_id == user_id)
            .order_by(Delivery.id.desc())
        ).first()
        if delivery is None:
            return None
        msg = notification_email.build_message(delivery.event, db.session.get(User, user_id))
        message = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    return (
        message,
        message.get_body(preferencelist=("plain",)).get_content(),
        message.get_body(preferencelist=("html",)).get_content(),
    )


def _inbox(app, user_id, type_):
    with app.app_context():
        return [
            (n.title, n.body)
            for n in db.session.scalars(
                select(Notification).where(Notification.user_id == user_id, Notification.event == type_)
            )
        ]


def test_lobby_result_email_names_the_team_in_the_body(cup):
    app = cup["app"]
    with app.app_context():
        states.change_match_state(cup["t"], cup["m"], "completed", cup["staff"])
    _, text, html = _email(app, "match.completed", cup["A"])
    assert "Team A finished 1st: 17 kills, 29 pts." in text
    assert "<strong>Team A</strong> finished 1st: 17 kills, 29 pts." in html


def test_dispute_emails_give_the_reason_and_the_settlement_its_note(cup):
    app = cup["app"]
    with app.app_context():
        states.change_match_state(cup["t"], cup["m"], "completed", cup["staff"])
        lobbies.move_match(cup["t"], cup["m"], "disputed", "Team B says Team A used an emulator", cup["staff"])
        lobbies.move_match(cup["t"], cup["m"], "completed", "Replay checked: no emulator, result stands", cup["staff"])
    _, text, html = _email(app, "match.disputed", cup["B"])
    for part in (text, html):
        assert "Team B says Team A used an emulator" in part
    _, text, html = _email(app, "match.completed", cup["B"])
    for part in (text, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))):
        assert "dispute over Match m2" in part and "was settled" in part
        assert "Replay checked: no emulator, result stands" in part
        assert "Team B finished 2nd" in part
    titles = [title for title, _ in _inbox(app, cup["B"], "match.completed")]
    assert titles[-1] == "Dispute settled: Match m2" and titles[0] != titles[-1]


def test_a_correction_of_a_completed_lobby_tells_the_teams_whose_line_changed(cup):
    app = cup["app"]
    with app.app_context():
        states.change_match_state(cup["t"], cup["m"], "completed", cup["staff"])
        version = db.session.get(Match, cup["m"]).version
        rows = [
            {"participant": "A", "placement": 3, "kills": 12},
            {"participant": "B", "placement": 2, "kills": 5},
            {"participant": "C", "placement": 1, "kills": 1},
        ]
        before = set(db.session.scalars(select(OutboxEvent.id)))
        lobbies.correct_lobby(cup["t"], cup["m"], None, rows, version, cup["staff"], reason="Kill feed misread")
        new = db.session.scalars(select(OutboxEvent.type).where(OutboxEvent.id.not_in(before))).all()
        assert sorted(new) == ["leaderboard.updated", "match.corrected"]
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "match.results_corrected"))
        assert audit.reason == "Kill feed misread"
    assert _email(app, "match.corrected", cup["B"]) is None  # B's line did not change
    _, text, html = _email(app, "match.corrected", cup["A"])
    for part in (text, html):
        assert "1st, 17 kills, 29 pts" in part and "3rd, 12 kills, 20 pts" in part and "Kill feed misread" in part
    assert "1st, 17 kills, 29 pts -> 3rd, 12 kills, 20 pts" in text
    [(title, body)] = _inbox(app, cup["A"], "match.corrected")
    assert "Team A" in title and "-> 3rd, 12 kills, 20 pts" in body


def test_the_correction_form_and_the_api_take_a_reason(cup):
    app = cup["app"]
    with app.app_context():
        states.change_match_state(cup["t"], cup["m"], "completed", cup["staff"])
    runner = app.test_cli_runner()
    token = runner.invoke(args=["users", "token", "staff@example.com"]).output.strip().split()[-1]
    body = {
        "results": [
            {"participant": "A", "placement": 2, "kills": 17},
            {"participant": "B", "placement": 1, "kills": 5},
        ],
        "reason": "Placements of A and B were swapped",
    }
    response = app.test_client().put(
        f"/api/tournaments/{cup['slug']}/matches/{cup['m']}/results/",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "match.results_corrected"))
        assert audit.reason == "Placements of A and B were swapped"
    _, text, _ = _email(app, "match.corrected", cup["B"])
    assert "Placements of A and B were swapped" in text


def _complete(cup):
    with cup["app"].app_context():
        states.change_match_state(cup["t"], cup["m"], "completed", cup["staff"])
        db.session.commit()
        LS.complete_tournament(cup["t"], cup["staff"])


def test_an_override_is_emailed_to_every_team_it_moved_with_before_after_and_reason(cup):
    app = cup["app"]
    _complete(cup)
    with app.app_context():
        LS.override_placement(cup["t"], "C", 1, "Team A fielded an unregistered player", cup["staff"])
    for key, before, after in (("C", "3rd", "1st"), ("A", "1st", "2nd"), ("B", "2nd", "3rd")):
        _, text, html = _email(app, "placement.overridden", cup[key])
        for part in (text, html):
            assert f"Team {key}" in part and before in part and after in part
            assert "Team A fielded an unregistered player" in part
        assert f"Team {key}: {before} -> {after}" in text


def test_completion_email_after_an_override_says_the_frozen_place_and_why(cup):
    app = cup["app"]
    with app.app_context():
        states.change_match_state(cup["t"], cup["m"], "completed", cup["staff"])
        LS.complete_tournament(cup["t"], cup["staff"])
        # The worker renders the completion email later, after the override.
        LS.override_placement(cup["t"], "C", 1, "Team A fielded an unregistered player", cup["staff"])
    _, text, html = _email(app, "tournament.completed", cup["C"])
    for part in (text, html):
        assert "finished" in part and "1st" in part and "The standings had Team C 3rd" in part
        assert "Team A fielded an unregistered player" in part
    _, text, _ = _email(app, "tournament.completed", cup["A"])
    assert "Team A finished 2nd." in text and "The standings had Team A 1st" in text


def test_overrides_are_marked_in_the_exports_and_the_widget(cup):
    app = cup["app"]
    _complete(cup)
    with app.app_context():
        LS.override_placement(cup["t"], "C", 1, "Team A fielded an unregistered player", cup["staff"])
    client = app.test_client()
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/tournaments/{cup['slug']}/standings.csv").get_data(as_text=True)))
    )
    pinned = next(r for r in rows if r["participant_id"] == "C")
    assert pinned["is_override"] == "yes" and pinned["frozen_rank"] == "3"
    assert pinned["override_reason"] == "Team A fielded an unregistered player"
    assert next(r for r in rows if r["participant_id"] == "A")["is_override"] == "no"
    data = json.loads(client.get(f"/tournaments/{cup['slug']}/standings.json").get_data(as_text=True))
    assert next(r for r in data if r["participant_id"] == "C")["override_reason"].startswith("Team A fielded")
    for url in (f"/embed/{cup['slug']}", f"/embed/{cup['slug']}?overlay=1"):
        widget = client.get(url).get_data(as_text=True)
        assert 'class="widget__override"' in widget
        assert "placed 1 by the organisers (computed 3). Team A fielded an unregistered player" in widget
