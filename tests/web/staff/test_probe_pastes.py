"""Issue 27, item 3: staff pastes (teams, a lobby's results) read any line ending as a line break;
anything else the CSV reader cannot take is a 400 naming the line, never a 500 (`_csv.Error`)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.errors import ValidationError
from app.extensions import db
from app.models import Match, Participant, Tournament
from app.services.results import lobbies
from app.services.tournaments import setup
from tests import factories


@pytest.fixture
def staff(client, auth, staff_user, app):
    with app.app_context():
        factories.br_tournament("ff-cup", preset="ffws", teams=("A", "B", "C", "D"))
        db.session.commit()
    auth.login()
    token = auth.csrf_token()

    def post(url, data):
        return client.post(url, data={"csrf_token": token, **data})

    return post


BASE = ["Team A", "Team B", "Team C", "Team D"]


def _names(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Participant.name)))


@pytest.mark.parametrize("text", ["Team\rX,,T", "Team\r\nX,,T", "Team\nX,,T\r", "\rTeam\r\rX,,T\r\r"])
def test_any_line_ending_separates_pasted_teams(app, staff, text):
    response = staff("/staff/tournaments/ff-cup/participants/paste", {"participants": text})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _names(app) == sorted([*BASE, "Team", "X"])


def test_an_unreadable_team_line_is_a_validation_error_naming_its_line(app, staff):
    """The form caps a paste at 100,000 characters, under the csv module's field limit; the
    service, which other callers reach, names the line all the same."""
    huge = "x" * 140_000
    with app.app_context():
        tournament = db.session.scalar(select(Tournament).where(Tournament.slug == "ff-cup"))
        with pytest.raises(ValidationError, match="participants: line 3: cannot be read as comma-separated"):
            setup.register_participants_csv(tournament.id, f"One\rTwo\r{huge}", None)
    assert _names(app) == BASE


def test_a_bare_cr_in_a_lobby_paste_is_a_line_break(app, staff):
    response = staff("/staff/tournaments/ff-cup/lobbies/paste", {"paste": "A,1,3\rB,2\r,3"})
    assert response.status_code == 400
    assert "line 3: unknown team" in response.get_data(as_text=True)
    response = staff("/staff/tournaments/ff-cup/lobbies/paste", {"paste": "team,placement,kills\rA,1,3\rB,2,0\r"})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(Match.id))) == 0  # a paste only fills the grid


def test_an_unreadable_lobby_line_is_a_validation_error_naming_its_line(app, staff):
    huge = "9" * 140_000
    with app.app_context():
        tournament = db.session.scalar(select(Tournament).where(Tournament.slug == "ff-cup"))
        with pytest.raises(ValidationError, match="paste: line 2: cannot be read as comma-separated"):
            lobbies.parse_paste(tournament, f"A,1,3\r\nB,2,{huge}")
