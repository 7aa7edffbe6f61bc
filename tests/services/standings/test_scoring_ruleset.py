"""The one Ruleset (app/scoring.py): the lobby score, "this lobby counts" as a predicate and as a
query, and the tiebreak and place wording every page, tie note and notification uses."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Match, MatchState
from app.scoring import PRESETS, Ruleset, ordinal, tiebreak_label, tournament_ruleset, wins_word
from app.services.standings.engine import br_standings
from tests import factories as f


def test_lobby_points_are_placement_points_plus_kills_times_kill_points():
    ffws = PRESETS["ffws"]
    assert ffws.lobby_points(1, 9) == 12 + 9
    assert ffws.lobby_points(13, 4) == 0 + 4  # past the table: no placement points
    custom = Ruleset("custom", (20, 10), 3, ())
    assert custom.lobby_points(2, 5) == 10 + 15
    assert custom.kill_score(5) == 15


def test_counts_only_a_completed_lobby_not_voided():
    assert Ruleset.counts(MatchState.COMPLETED.value)
    assert not Ruleset.counts(MatchState.COMPLETED.value, voided=True)
    for state in (MatchState.SCHEDULED, MatchState.LIVE, MatchState.DISPUTED, MatchState.CANCELLED):
        assert not Ruleset.counts(state.value)


def test_the_counts_clause_and_the_predicate_agree(app):
    with app.app_context():
        t = f.br_tournament("counts-cup")
        for state in ("completed", "disputed", "live", "scheduled", "cancelled"):
            f.lobby(t, [("A", 1, 0)], key=f"m-{state}", state=state)
        voided = f.lobby(t, [("A", 1, 0)], key="m-voided")
        voided.voided_at = f.T0
        db.session.commit()
        matches = db.session.scalars(select(Match).where(Match.tournament_id == t.id)).all()
        by_clause = set(
            db.session.scalars(select(Match.key).where(Match.tournament_id == t.id, Ruleset.counts_clause()))
        )
        assert by_clause == {m.key for m in matches if Ruleset.lobby_counts(m)} == {"m-completed"}


def test_the_standings_score_a_lobby_as_the_ruleset_does(app):
    with app.app_context():
        t = f.br_tournament("score-cup", preset="pmgc", teams=("A", "B"))
        f.lobby(t, [("A", 1, 7), ("B", 2, 3)])
        db.session.commit()
        ruleset = tournament_ruleset(t)
        rows = {row["participant_id"]: row["total_points"] for row in br_standings(t.id)}
        assert rows == {"A": ruleset.lobby_points(1, 7), "B": ruleset.lobby_points(2, 3)}


def test_tiebreak_wording_is_one_source():
    assert tiebreak_label("wins", "freefire") == "Booyahs" == wins_word("freefire")
    assert tiebreak_label("wins", "pubgm") == "WWCD"
    assert tiebreak_label("wins", "valorant") == "wins"
    assert tiebreak_label("last_match_placement", "freefire") == "placement in the most recent match where they differ"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th",
    ]  # fmt: skip


def test_the_templates_word_a_tiebreaker_as_the_tie_notes_do(app):
    """The public macros read the same labels (app.jinja_env globals from app/scoring.py)."""
    with app.app_context():
        template = app.jinja_env.from_string(
            '{% from "public/_macros.html" import tiebreak_text, wins_label %}'
            "{{ tiebreak_text('last_match_placement', 'pubgm') }}|{{ tiebreak_text('wins', 'pubgm') }}|"
            "{{ wins_label('freefire') }}|{{ wins_label('cs2') }}"
        )
        assert template.render() == "placement in the most recent match where they differ|WWCD|Booyahs|Wins"
