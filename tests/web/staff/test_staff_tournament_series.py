"""Series run from the staff portal: create, schedule and record games with winner and score,
complete a scheduled game with its result, forfeit; every refusal is a 4xx with the message."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent, Match, Series
from tests import factories as f
from tests.web.staff.test_staff_tournament import Staff, text

URL = "/staff/tournaments/val-cup/series"


@pytest.fixture
def cup(app):
    with app.app_context():
        t = f.series_tournament("val-cup", teams=("A", "B", "C"))
        db.session.commit()
        return t.id


@pytest.fixture
def staff(client, auth, staff_user, cup):
    auth.login()
    return Staff(client, auth.csrf_token())


def summary(client, key="sf1"):
    with client.application.app_context():
        from app.services.standings.leaderboard import LeaderboardService

        return LeaderboardService.series_summary_by_key("val-cup", key)


def create(staff, **change):
    data = {"key": "sf1", "name": "Semi-final 1", "best_of": "3", "participant_a": "A", "participant_b": "B"}
    return staff.post(URL + "/", data | change)


def test_create_record_games_and_win(app, client, staff):
    assert create(staff).status_code == 302
    page = text(staff.get(URL + "/"))
    assert "Semi-final 1" in page and "Record a played game" in page
    assert staff.post(URL + "/sf1/record", {"winner": "A", "score_a": "13", "score_b": "11"}).status_code == 302
    assert staff.post(URL + "/sf1/record", {"winner": "", "score_a": "12", "score_b": "12"}).status_code == 302
    assert staff.post(URL + "/sf1/record", {"winner": "A", "score_a": "", "score_b": ""}).status_code == 302
    s = summary(client)
    assert (s["status"], s["series_winner_id"], s["series_score"]) == ("completed", "A", {"A": 2, "B": 0})
    assert [g["score"] for g in s["games"]] == [{"A": 13, "B": 11}, {"A": 12, "B": 12}, None]
    decided = staff.post(URL + "/sf1/record", {"winner": "B"})
    assert decided.status_code == 409 and "already decided" in text(decided)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Match.id))) == 3
        actions = list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions == ["series.created"] + ["series.game_recorded"] * 3


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"participant_b": "A"}, "participant_b", "cannot play itself"),
        ({"participant_b": ""}, "participant_b", "choose a team in the event"),
        ({"best_of": "4"}, "best_of", "Not a valid choice"),
        ({"key": "semi final"}, "key", "letters, digits"),
        ({"key": ""}, "key", "required"),
    ],
)
def test_create_errors(app, staff, change, field, message):
    response = create(staff, **change)
    assert response.status_code == 400
    assert f'id="{field}-errors"' in text(response) and message in text(response)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Series.id))) == 0


def test_duplicate_series_key(staff):
    assert create(staff).status_code == 302
    again = create(staff, participant_b="C")
    assert again.status_code == 400 and "already a series" in text(again)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"winner": "A", "score_a": "5", "score_b": "13"}, "the winner must have the higher score"),
        ({"winner": "C"}, "must be A or B"),
        ({"winner": "", "score_a": "13", "score_b": "5"}, "required, unless the score is level"),
        ({"winner": "A", "score_a": "13"}, "give both scores"),
        ({"winner": "A", "score_a": "13", "score_b": "-1"}, "from 0 to 10000"),
        ({"winner": "A", "score_a": "9" * 30, "score_b": "1"}, "longer than 20"),
    ],
)
def test_record_errors_store_nothing(app, staff, data, message):
    assert create(staff).status_code == 302
    response = staff.post(URL + "/sf1/record", data)
    assert response.status_code == 400
    assert message in text(response)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Match.id))) == 0


def test_scheduled_game_started_then_completed_with_its_result(app, client, staff):
    assert create(staff, best_of="1").status_code == 302
    assert staff.post(URL + "/sf1/games").status_code == 302
    with app.app_context():
        game = db.session.scalar(db.select(Match))
        game_id = game.id
        assert (game.key, game.state, game.game_number) == ("sf1-1", "scheduled", 1)
    assert "Start game 1 to enter its result" in text(staff.get(URL + "/"))
    assert staff.post(f"/staff/tournaments/val-cup/matches/{game_id}/state", {"state": "live"}).status_code == 302
    page = text(staff.get(URL + "/"))
    assert "Complete game 1 with its result" in page
    response = staff.post(URL + "/sf1/record", {"game": str(game_id), "winner": "B", "score_a": "1", "score_b": "2"})
    assert response.status_code == 302
    s = summary(client)
    assert (s["status"], s["series_winner_id"]) == ("completed", "B")
    full = staff.post(URL + "/sf1/games")
    assert full.status_code == 409


def test_forfeit(app, client, staff):
    assert create(staff).status_code == 302
    no_reason = staff.post(URL + "/sf1/forfeit", {"winner": "B", "reason": ""})
    assert no_reason.status_code == 400
    wrong = staff.post(URL + "/sf1/forfeit", {"winner": "C", "reason": "No show"})
    assert wrong.status_code == 400 and "A or B" in text(wrong)
    assert staff.post(URL + "/sf1/forfeit", {"winner": "B", "reason": "Team A did not show up"}).status_code == 302
    s = summary(client)
    assert (s["status"], s["series_winner_id"]) == ("forfeit", "B")
    again = staff.post(URL + "/sf1/forfeit", {"winner": "A", "reason": "Changed mind"})
    assert again.status_code == 409
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="series.forfeit"))
        assert event.reason == "Team A did not show up" and event.after == {"status": "forfeit", "winner": "B"}


def test_unknown_series_and_battle_royale_redirect(app, staff):
    assert staff.post(URL + "/nope/record", {"winner": "A"}).status_code == 404
    with app.app_context():
        f.br_tournament("br-cup")
        db.session.commit()
    assert staff.get("/staff/tournaments/br-cup/series/").status_code == 302
    assert staff.get("/staff/tournaments/val-cup/lobbies/").status_code == 302
