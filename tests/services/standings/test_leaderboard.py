"""LeaderboardService: the seed's 24 scenarios (8 standings, 8 series, 8 overrides), every
preset and every tiebreaker key."""

from __future__ import annotations

import pytest

from app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.extensions import db
from app.models import AuditEvent, TournamentResult
from app.scoring import Ruleset
from app.services import audit
from app.services.standings.engine import compute_standings
from app.services.standings.leaderboard import LeaderboardService as LS
from tests import factories as f
from tests.conftest import create_user
from tests.factories import T0


def ranks(rows):
    return [(r["participant_id"], r["rank"], r["decided_by"]) for r in rows]


# ------------------------------------------------------------------------------ standings (8)


def test_standings_points_from_placement_and_kills(app):
    with app.app_context():
        t = f.br_tournament(preset="ffws")
        f.lobby(t, [("A", 1, 3), ("B", 2, 5), ("C", 3, 0), ("D", 12, 1)])
        rows = LS.calculate_br_standings(t.id)
        by = {r["participant_id"]: r for r in rows}
        assert by["A"]["total_points"] == 12 + 3
        assert by["B"]["total_points"] == 9 + 5
        assert by["C"]["total_points"] == 8
        assert by["D"]["total_points"] == 0 + 1  # placement past the scoring positions
        assert [r["participant_id"] for r in rows] == ["A", "B", "C", "D"]
        assert rows[0]["decided_by"] is None and rows[1]["decided_by"] == "total_points"


def test_standings_aggregate_over_lobbies(app):
    with app.app_context():
        t = f.br_tournament(preset="ffws")
        f.lobby(t, [("A", 1, 2), ("B", 2, 1), ("C", 3, 4)])
        f.lobby(t, [("A", 3, 0), ("B", 1, 6), ("C", 2, 1)])
        row = {r["participant_id"]: r for r in LS.calculate_br_standings(t.id)}["B"]
        assert row["placement_points"] == 9 + 12
        assert row["kill_points"] == row["total_kills"] == 7
        assert row["wins"] == 1
        assert row["best_placement"] == 1
        assert row["matches_played"] == 2
        assert row["avg_placement"] == 1.5
        assert row["tiebreaker_timestamp"] == "2025-11-13T14:40:00Z"


def test_standings_tiebreak_wins_then_kills(app):
    with app.app_context():
        t = f.br_tournament(preset="ffws")
        # Everyone on 12: A by its Booyah, then the others by kills (D 6, C 5, B 3).
        f.lobby(t, [("A", 1, 0), ("B", 2, 3), ("C", 4, 5), ("D", 5, 6)])
        rows = LS.calculate_br_standings(t.id)
        assert ranks(rows) == [("A", 1, None), ("D", 2, "wins"), ("C", 3, "total_kills"), ("B", 4, "total_kills")]
        assert {r["participant_id"]: r["total_points"] for r in rows} == {"A": 12, "B": 12, "C": 12, "D": 12}


def test_standings_full_tie_shares_rank_and_lists_by_name(app):
    with app.app_context():
        t = f.br_tournament(preset="deltacrown", teams=("Z", "Y", "X"))
        f.lobby(t, [("Z", 3, 5), ("Y", 4, 7), ("X", 5, 6)], minutes=0)
        f.lobby(t, [("Z", 4, 2), ("Y", 3, 0), ("X", 1, 0)], minutes=30)
        # Z: 7+5+5+2=19, Y: 5+7+7+0=19, X: 4+6+12=22
        rows = LS.calculate_br_standings(t.id)
        assert ranks(rows) == [("X", 1, None), ("Y", 2, "total_points"), ("Z", 2, None)]


def test_standings_empty_tournament(app):
    with app.app_context():
        t = f.br_tournament()
        assert LS.calculate_br_standings(t.id) == []
        f.lobby(t, [("A", 1, 1)], state="live")
        assert LS.calculate_br_standings(t.id) == []


def test_standings_partial_lobbies_only_completed_count(app):
    with app.app_context():
        t = f.br_tournament(preset="pmgc")
        f.lobby(t, [("A", 1, 1), ("B", 2, 1)])
        f.lobby(t, [("B", 1, 9), ("A", 2, 0)], state="disputed")
        f.lobby(t, [("C", 1, 9)], state="scheduled")
        f.lobby(t, [("C", 1, 9)], state="cancelled")
        f.lobby(t, [("D", 1, 9)], state="live")
        rows = LS.calculate_br_standings(t.id)
        assert [(r["participant_id"], r["total_points"], r["matches_played"]) for r in rows] == [
            ("A", 11, 1),
            ("B", 7, 1),
        ]


def test_standings_match_and_stage_filters_drop_adjustments(app):
    with app.app_context():
        t = f.br_tournament(preset="ffws")
        m1 = f.lobby(t, [("A", 1, 0), ("B", 2, 0)], stage="Day 1")
        m2 = f.lobby(t, [("B", 1, 0), ("A", 2, 0)], stage="Day 2")
        f.adjust(t, "A", -5)
        full = {r["participant_id"]: r for r in LS.calculate_br_standings(t.id)}
        assert full["A"]["adjustment_points"] == -5 and full["A"]["total_points"] == 21 - 5
        day2 = LS.calculate_br_standings(t.id, stage="Day 2")
        assert [(r["participant_id"], r["total_points"], r["adjustment_points"]) for r in day2] == [
            ("B", 12, 0),
            ("A", 9, 0),
        ]
        only_m1 = LS.calculate_br_standings(t.id, match_ids=[m1.id])
        assert [r["participant_id"] for r in only_m1] == ["A", "B"]
        assert LS.calculate_br_standings(t.id, match_ids=[m1.id, m2.id])[0]["adjustment_points"] == 0
        with pytest.raises(ValidationError, match="no match 999"):
            LS.calculate_br_standings(t.id, match_ids=[999])
        assert LS.calculate_br_standings(t.id, stage="Day 9") == []


def test_standings_refused_for_series_game_and_unknown_tournament(app):
    with app.app_context():
        t = f.series_tournament()
        with pytest.raises(ValidationError, match="not battle royale"):
            LS.calculate_br_standings(t.id)
        with pytest.raises(NotFound):
            LS.calculate_br_standings(424242)
        with pytest.raises(NotFound):
            LS.calculate_br_standings("no-such-slug")


# ------------------------------------------------------------------------- presets


@pytest.mark.parametrize(
    ("preset", "game", "table"),
    [
        ("ffws", "freefire", [12, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0]),
        ("pmgc", "pubgm", [10, 6, 5, 4, 3, 2, 1, 1, 0, 0]),
        ("pubgm-2020", "pubgm", [15, 12, 10, 8, 6, 4, 2, 1, 1, 1, 1, 1, 0, 0]),
        ("deltacrown", "freefire", [12, 9, 7, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0]),
        (None, "freefire", [12, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0]),  # Free Fire defaults to ffws
        (None, "pubgm", [10, 6, 5, 4, 3, 2, 1, 1, 0, 0]),  # PUBG Mobile defaults to pmgc
    ],
)
def test_preset_placement_tables(app, preset, game, table):
    teams = tuple(f"T{i:02d}" for i in range(1, len(table) + 1))
    with app.app_context():
        t = f.br_tournament(preset=preset, game=game, teams=teams)
        f.lobby(t, [(team, i, 2) for i, team in enumerate(teams, start=1)])
        got = {r["participant_id"]: r for r in LS.calculate_br_standings(t.id)}
        assert [got[team]["placement_points"] for team in teams] == table
        assert all(got[team]["kill_points"] == 2 for team in teams)  # 1 point per kill


def test_custom_preset_table_kill_points_and_tiebreakers(app):
    with app.app_context():
        t = f.br_tournament(
            preset="custom", placement_points=[20, 10], kill_points=2, tiebreakers=["best_placement", "total_kills"]
        )
        f.lobby(t, [("A", 1, 0), ("B", 2, 5), ("C", 3, 10)])
        rows = LS.calculate_br_standings(t.id)
        by = {r["participant_id"]: r for r in rows}
        assert (by["A"]["total_points"], by["B"]["total_points"], by["C"]["total_points"]) == (20, 20, 20)
        # all on 20: best placement decides
        assert ranks(rows) == [("A", 1, None), ("B", 2, "best_placement"), ("C", 3, "best_placement")]


# ---------------------------------------------------------------------- tiebreaker keys


def _tied_custom(app, tiebreakers):
    t = f.br_tournament(preset="custom", placement_points=[0], kill_points=0, tiebreakers=tiebreakers)
    return t


def test_tiebreaker_wins(app):
    with app.app_context():
        t = _tied_custom(app, ["wins"])
        f.lobby(t, [("B", 1, 0), ("A", 2, 0)])
        assert ranks(LS.calculate_br_standings(t.id))[:2] == [("B", 1, None), ("A", 2, "wins")]


def test_tiebreaker_placement_points(app):
    with app.app_context():
        t = f.br_tournament(preset="custom", placement_points=[5, 3], kill_points=1, tiebreakers=["placement_points"])
        f.lobby(t, [("A", 1, 0), ("B", 2, 2)])  # both 5 points; A has more from placement
        assert ranks(LS.calculate_br_standings(t.id)) == [("A", 1, None), ("B", 2, "placement_points")]


def test_tiebreaker_total_kills(app):
    with app.app_context():
        t = _tied_custom(app, ["total_kills"])
        f.lobby(t, [("A", 1, 1), ("B", 2, 4)])
        assert ranks(LS.calculate_br_standings(t.id)) == [("B", 1, None), ("A", 2, "total_kills")]


def test_tiebreaker_best_placement(app):
    with app.app_context():
        t = _tied_custom(app, ["best_placement"])
        f.lobby(t, [("A", 3, 0), ("B", 2, 0)])
        assert ranks(LS.calculate_br_standings(t.id)) == [("B", 1, None), ("A", 2, "best_placement")]


def test_tiebreaker_avg_placement(app):
    with app.app_context():
        t = _tied_custom(app, ["avg_placement"])
        f.lobby(t, [("A", 1, 0), ("B", 2, 0), ("C", 3, 0)])
        f.lobby(t, [("B", 1, 0), ("A", 2, 0), ("C", 3, 0)])
        rows = LS.calculate_br_standings(t.id)
        assert ranks(rows) == [("A", 1, None), ("B", 1, None), ("C", 3, "avg_placement")]


def test_avg_placement_compares_exact_values_not_rounded_ones():
    ruleset = Ruleset("custom", (0,), 0, ("avg_placement",))
    # A: 12/7 = 1.7143, B: 29/17 = 1.7059 - both print as 1.71, but B is better.
    a = [1] * 2 + [2] * 5
    b = [1] * 5 + [2] * 12
    rows = [(i, 1, p, 0) for i, p in enumerate(a)] + [(100 + i, 2, p, 0) for i, p in enumerate(b)]
    times = {match_id: T0 for match_id, *_ in rows}
    out = compute_standings(rows, {1: ("A", "Team A"), 2: ("B", "Team B")}, ruleset, completed_at=times)
    assert [(r["participant_id"], r["avg_placement"], r["rank"], r["decided_by"]) for r in out] == [
        ("B", 1.71, 1, None),
        ("A", 1.71, 2, "avg_placement"),
    ]


def test_rows_of_a_match_read_after_the_match_list_are_not_counted():
    """The streamed standings read the counted matches, then their rows, in two statements: a
    lobby committed in between has rows but no place in the match list, and counts from the next
    results version on, not half in this one (no points, no match index for last_match_placement)."""
    ruleset = Ruleset("custom", (10, 5), 1, ("last_match_placement",))
    rows = [(1, 1, 1, 0), (1, 2, 2, 0), (2, 1, 2, 3), (2, 2, 1, 0), (3, 2, 1, 9)]
    names = {1: ("A", "Team A"), 2: ("B", "Team B")}
    times = {1: T0, 2: T0}
    out = compute_standings(rows, names, ruleset, completed_at=times, matches=times.keys())
    assert [(r["participant_id"], r["total_points"], r["matches_played"], r["rank"]) for r in out] == [
        ("A", 18, 2, 1),
        ("B", 15, 2, 2),
    ]
    assert compute_standings(rows, names, ruleset, completed_at=times)[0]["participant_id"] == "B"  # unfiltered: 34
    # Such a lobby between two counted ones (several rows) is skipped whole, and the next counts.
    middle = [(1, 1, 1, 0), (1, 2, 2, 0), (3, 2, 1, 9), (3, 1, 2, 9), (2, 1, 2, 3), (2, 2, 1, 0)]
    assert compute_standings(middle, names, ruleset, completed_at=times, matches=times.keys()) == out


def test_avg_placement_rounds_half_up(app):
    with app.app_context():
        t = _tied_custom(app, [])
        # 8 lobbies: placements sum 9 -> 1.125 -> 1.13 with half-up (banker's would give 1.12)
        for placement in (1, 1, 1, 1, 1, 1, 1, 2):
            f.lobby(t, [("A", placement, 0)])
        assert LS.calculate_br_standings(t.id)[0]["avg_placement"] == 1.13


def test_tiebreaker_last_match_placement_with_missed_match(app):
    with app.app_context():
        t = _tied_custom(app, ["last_match_placement"])
        f.lobby(t, [("A", 1, 0), ("B", 2, 0), ("C", 3, 0)])
        f.lobby(t, [("A", 2, 0), ("B", 1, 0)])  # C missed the most recent match: worst
        rows = LS.calculate_br_standings(t.id)
        assert ranks(rows) == [("B", 1, None), ("A", 2, "last_match_placement"), ("C", 3, "last_match_placement")]


def test_tiebreaker_last_match_placement_goes_backwards(app):
    with app.app_context():
        t = _tied_custom(app, ["last_match_placement"])
        f.lobby(t, [("A", 2, 0), ("B", 1, 0)], minutes=0)
        f.lobby(t, [("C", 1, 0)], minutes=10)  # A and B both missed the latest: the one before decides
        rows = LS.calculate_br_standings(t.id)
        assert ranks(rows) == [("C", 1, None), ("B", 2, "last_match_placement"), ("A", 3, "last_match_placement")]


def test_match_order_uses_completed_at_then_file_order(app):
    with app.app_context():
        t = _tied_custom(app, ["last_match_placement"])
        # Created second but completed first: the other lobby is the most recent one.
        late = f.lobby(t, [("A", 1, 0), ("B", 2, 0)], minutes=60)
        f.lobby(t, [("B", 1, 0), ("A", 2, 0)], minutes=0)
        assert late.position == 0
        assert ranks(LS.calculate_br_standings(t.id))[0] == ("A", 1, None)


def test_tiebreaker_earliest_completion(app):
    with app.app_context():
        t = _tied_custom(app, ["earliest_completion"])
        f.lobby(t, [("A", 1, 0), ("B", 2, 0)], minutes=0)
        f.lobby(t, [("B", 1, 0)], minutes=50)
        rows = LS.calculate_br_standings(t.id)
        assert ranks(rows) == [("A", 1, None), ("B", 2, "earliest_completion")]
        assert rows[0]["tiebreaker_timestamp"] == "2025-11-13T14:00:00Z"


def test_adjustment_can_reorder_and_is_reported(app):
    with app.app_context():
        t = f.br_tournament(preset="ffws")
        f.lobby(t, [("A", 1, 0), ("B", 2, 0)])
        f.adjust(t, "A", -4, "Unregistered player")
        f.adjust(t, "B", 1, "Fair play bonus")
        rows = LS.calculate_br_standings(t.id)
        assert [(r["participant_id"], r["total_points"], r["adjustment_points"]) for r in rows] == [
            ("B", 10, 1),
            ("A", 8, -4),
        ]


# ------------------------------------------------------------------------------- series (8)


def summary(s):
    return LS.calculate_series_summary([g.id for g in s.games])


def test_series_bo1(app):
    with app.app_context():
        t = f.series_tournament()
        s = f.series(t, "qf", "A", "B", 1)
        f.game(s, "B", (10, 13))
        got = summary(s)
        assert (got["status"], got["series_winner_id"], got["wins_needed"]) == ("completed", "B", 1)
        assert got["series_score"] == {"A": 0, "B": 1}
        assert got["games"][0]["score"] == {"A": 10, "B": 13}


def test_series_bo3_decided_in_three(app):
    with app.app_context():
        t = f.series_tournament()
        s = f.series(t, "sf", "A", "B", 3)
        f.game(s, "A", (13, 9))
        f.game(s, "B", (11, 13))
        f.game(s, "A", (14, 12))
        got = summary(s)
        assert (got["status"], got["series_winner_id"], got["series_score"]) == ("completed", "A", {"A": 2, "B": 1})
        assert [g["game_number"] for g in got["games"]] == [1, 2, 3]


def test_series_bo5_sweep(app):
    with app.app_context():
        t = f.series_tournament()
        s = f.series(t, "gf", "A", "B", 5)
        for _ in range(3):
            f.game(s, "B", (0, 16))
        got = summary(s)
        assert (got["status"], got["series_winner_id"], got["series_score"], got["wins_needed"]) == (
            "completed",
            "B",
            {"A": 0, "B": 3},
            3,
        )


def test_series_incomplete_ignores_unfinished_games(app):
    with app.app_context():
        t = f.series_tournament()
        s = f.series(t, "sf", "A", "B", 3)
        f.game(s, "A", (13, 7))
        f.game(s, None, (4, 6), state="live")
        got = summary(s)
        assert (got["status"], got["series_winner_id"]) == ("in_progress", None)
        assert got["series_score"] == {"A": 1, "B": 0}
        assert len(got["games"]) == 1


def test_series_with_no_games_played(app):
    with app.app_context():
        t = f.series_tournament()
        s = f.series(t, "sf", "A", "B", 3)
        got = LS.series_summary_by_key(t.id, "sf")
        assert (got["status"], got["series_score"], got["games"]) == ("in_progress", {"A": 0, "B": 0}, [])
        with pytest.raises(ValidationError):
            LS.calculate_series_summary([])
        assert s.id == got["series_id"]


def test_series_unknown_or_foreign_ids(app):
    with app.app_context():
        t = f.series_tournament()
        s1 = f.series(t, "s1", "A", "B", 3)
        s2 = f.series(t, "s2", "C", "D", 3)
        g1, g2 = f.game(s1, "A", (1, 0)), f.game(s2, "C", (1, 0))
        with pytest.raises(NotFound, match="no match 9999"):
            LS.calculate_series_summary([g1.id, 9999])
        with pytest.raises(ValidationError, match="different series"):
            LS.calculate_series_summary([g1.id, g2.id])
        br = f.br_tournament("br")
        lone = f.lobby(br, [("A", 1, 0)])
        with pytest.raises(ValidationError, match="not a game of a series"):
            LS.calculate_series_summary([lone.id])
        with pytest.raises(ValidationError):
            LS.calculate_series_summary(["1"])


def test_series_game_without_winner_counts_no_win(app):
    with app.app_context():
        t = f.series_tournament(game="cs2")
        s = f.series(t, "bo3", "A", "B", 3)
        f.game(s, None, (15, 15))  # a drawn map
        f.game(s, "A", (16, 10))
        got = summary(s)
        assert got["games"][0]["winner_id"] is None
        assert (got["status"], got["series_score"]) == ("in_progress", {"A": 1, "B": 0})
        f.game(s, None, (15, 15))
        assert summary(s)["status"] == "draw"  # all three maps played, nobody reached two


def test_series_draw_and_forfeit(app):
    with app.app_context():
        t = f.series_tournament()
        bo2 = f.series(t, "show", "A", "B", 2)
        f.game(bo2, "A", (13, 5))
        assert summary(bo2)["status"] == "in_progress"
        f.game(bo2, "B", (10, 13))
        got = summary(bo2)
        assert (got["status"], got["series_winner_id"], got["wins_needed"]) == ("draw", None, 2)
        forfeit = f.series(t, "gf", "C", "D", 5, forfeit_winner="D")
        got = LS.series_summary_by_key(t.id, "gf")
        assert (got["status"], got["series_winner_id"], got["series_score"]) == ("forfeit", "D", {"C": 0, "D": 0})
        assert forfeit.id == got["series_id"]


def test_series_summary_for_match_and_bo7(app):
    with app.app_context():
        t = f.series_tournament(game="mlbb")
        s = f.series(t, "gf", "A", "B", 7)
        games = [f.game(s, w, None) for w in ("A", "B", "A", "B", "A", "A")]
        got = LS.series_summary_for_match(t.slug, games[2].id)
        assert (got["wins_needed"], got["status"], got["series_score"]) == (4, "completed", {"A": 4, "B": 2})
        assert got["games"][0]["score"] is None
        with pytest.raises(NotFound):
            LS.series_summary_for_match(t.slug, 987654)


# ------------------------------------------------------------------------------ overrides (8)


@pytest.fixture
def completed(app, staff_user):
    """A completed FFWS event with A1 B2 C3 D4."""
    with app.app_context():
        t = f.br_tournament("final-cup", preset="ffws")
        f.lobby(t, [("A", 1, 5), ("B", 2, 4), ("C", 3, 3), ("D", 4, 2)])
        db.session.commit()
        LS.complete_tournament(t.id)
        return t.id


def final_ranks(tournament_id):
    return [(r["participant_id"], r["rank"], r["is_override"]) for r in LS.results(tournament_id)]


def test_override_pins_and_others_keep_order(app, completed, staff_user):
    with app.app_context():
        assert final_ranks(completed) == [("A", 1, False), ("B", 2, False), ("C", 3, False), ("D", 4, False)]
        out = LS.override_placement(completed, "C", 1, "Opponent used an unregistered player", staff_user)
        assert out["success"] is True
        assert (out["participant_id"], out["old_rank"], out["new_rank"]) == ("C", 3, 1)
        assert out["override_actor_id"] == staff_user
        assert out["override_reason"] == "Opponent used an unregistered player"
        assert out["override_timestamp"].endswith("Z")
        assert final_ranks(completed) == [("C", 1, True), ("A", 2, False), ("B", 3, False), ("D", 4, False)]


def test_override_is_idempotent(app, completed, staff_user):
    with app.app_context():
        first = LS.override_placement(completed, "D", 2, "Result sheet correction", staff_user)
        second = LS.override_placement(completed, "D", 2, "Result sheet correction", staff_user)
        assert second["result_id"] == first["result_id"]
        assert second["override_timestamp"] == first["override_timestamp"]
        assert (second["old_rank"], second["new_rank"]) == (2, 2)
        assert len(audit.history(completed, "placement.override")) == 1
        assert final_ranks(completed) == [("A", 1, False), ("D", 2, True), ("B", 3, False), ("C", 4, False)]


@pytest.mark.parametrize("reason", ["", "   ", "too short", None, 42])
def test_override_requires_reason(app, completed, staff_user, reason):
    with app.app_context():
        with pytest.raises(ValidationError, match="at least 10 characters"):
            LS.override_placement(completed, "C", 1, reason, staff_user)
        assert final_ranks(completed)[0] == ("A", 1, False)


@pytest.mark.parametrize("rank", [0, -1, 5, 100, "1", True, 1.5])
def test_override_rejects_bad_rank(app, completed, staff_user, rank):
    with app.app_context():
        with pytest.raises(ValidationError, match="new_rank"):
            LS.override_placement(completed, "C", rank, "Manual review of the lobby", staff_user)
        assert not any(pinned for _, _, pinned in final_ranks(completed))


def test_override_unknown_tournament_or_participant_or_not_completed(app, completed, staff_user):
    with app.app_context():
        with pytest.raises(NotFound):
            LS.override_placement(999999, "C", 1, "Manual review of the lobby", staff_user)
        with pytest.raises(NotFound, match="no participant 'ZZ'"):
            LS.override_placement(completed, "ZZ", 1, "Manual review of the lobby", staff_user)
        live = f.br_tournament("still-live")
        db.session.commit()
        with pytest.raises(Conflict, match="not completed"):
            LS.override_placement(live.id, "A", 1, "Manual review of the lobby", staff_user)


def test_override_needs_staff_actor(app, completed):
    player = create_user(app, "fan@example.com", "password123")
    with app.app_context():
        with pytest.raises(PermissionDenied):
            LS.override_placement(completed, "C", 1, "Manual review of the lobby", player)
        with pytest.raises(PermissionDenied):
            LS.override_placement(completed, "C", 1, "Manual review of the lobby", 123456)


def test_override_writes_audit_trail_and_can_be_cleared(app, completed, staff_user):
    with app.app_context():
        LS.override_placement(completed, "C", 1, "Opponent used an unregistered player", staff_user)
        (event,) = audit.history(completed, "placement.override")
        assert (event.actor_id, event.target_type, event.reason) == (
            staff_user,
            "tournament_result",
            "Opponent used an unregistered player",
        )
        assert event.before["ranks"] == {"A": 1, "B": 2, "C": 3, "D": 4}
        assert event.after["ranks"] == {"C": 1, "A": 2, "B": 3, "D": 4}
        cleared = LS.clear_override(completed, "C", "Appeal upheld by the panel", staff_user)
        assert (cleared["old_rank"], cleared["new_rank"]) == (1, 3)
        assert final_ranks(completed) == [("A", 1, False), ("B", 2, False), ("C", 3, False), ("D", 4, False)]
        (cleared_event,) = audit.history(completed, "placement.override_cleared")
        assert cleared_event.after["ranks"] == {"A": 1, "B": 2, "C": 3, "D": 4}
        with pytest.raises(Conflict, match="no override"):
            LS.clear_override(completed, "C", "Appeal upheld by the panel", staff_user)


def test_override_history_and_replacing_a_pin(app, completed, staff_user):
    with app.app_context():
        LS.override_placement(completed, "C", 1, "First correction of the sheet", staff_user)
        LS.override_placement(completed, "D", 1, "Second correction replaces it", staff_user)
        assert final_ranks(completed) == [("D", 1, True), ("A", 2, False), ("B", 3, False), ("C", 4, False)]
        LS.override_placement(completed, "D", 3, "Moved after the panel ruling", staff_user)
        assert final_ranks(completed) == [("A", 1, False), ("B", 2, False), ("D", 3, True), ("C", 4, False)]
        events = audit.history(completed, "placement.override")
        assert [e.after["participant_id"] for e in events] == ["C", "D", "D"]
        assert events[1].after["replaced_pin_of"] == "C"
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) >= 4  # + tournament.completed
        pinned = db.session.scalars(db.select(TournamentResult).filter_by(is_override=True)).all()
        assert len(pinned) == 1


def test_override_keeps_frozen_ties_together(app, staff_user):
    with app.app_context():
        t = f.br_tournament("tied", preset="custom", placement_points=[0], kill_points=0, tiebreakers=[])
        f.lobby(t, [("A", 1, 0), ("B", 2, 0), ("C", 3, 0), ("D", 4, 0)])
        db.session.commit()
        LS.complete_tournament(t.id)
        assert [r for _, r, _ in final_ranks(t.id)] == [1, 1, 1, 1]
        LS.override_placement(t.id, "D", 1, "Only D showed up to the final", staff_user)
        assert final_ranks(t.id) == [("D", 1, True), ("A", 2, False), ("B", 2, False), ("C", 2, False)]


# ------------------------------------------------------------------------------- completion


def test_complete_refused_while_match_live_or_disputed(app):
    with app.app_context():
        t = f.br_tournament()
        f.lobby(t, [("A", 1, 0)])
        f.lobby(t, [("A", 1, 0)], state="disputed", key="m9")
        db.session.commit()
        with pytest.raises(Conflict, match=r"m9 \(disputed\)"):
            LS.complete_tournament(t.id)
        with pytest.raises(Conflict, match="not completed yet"):
            LS.results(t.id)


def test_complete_freezes_br_metadata(app):
    with app.app_context():
        t = f.br_tournament(preset="ffws")
        f.lobby(t, [("A", 1, 5), ("B", 2, 4)])
        f.lobby(t, [("A", 2, 1), ("B", 1, 0)])
        db.session.commit()
        LS.complete_tournament(t.id)
        rows = {r["participant_id"]: r for r in LS.results(t.id)}
        assert rows["A"] == rows["A"] | {
            "rank": 1,
            "total_points": 12 + 9 + 6,
            "total_kills": 6,
            "best_placement": 1,
            "avg_placement": 1.5,
            "matches_played": 2,
            "is_override": False,
        }
        # C and D never played: listed after everyone, sharing the last place
        assert (rows["C"]["rank"], rows["D"]["rank"], rows["C"]["matches_played"]) == (3, 3, 0)
        with pytest.raises(Conflict, match="already completed"):
            LS.complete_tournament(t.id)
        (event,) = audit.history(t.id, "tournament.completed")
        assert event.after == {"status": "completed"}


def test_complete_freezes_series_metadata(app):
    with app.app_context():
        t = f.series_tournament()
        sf1 = f.series(t, "sf1", "A", "B", 3)
        f.game(sf1, "A", (13, 9))
        f.game(sf1, "A", (13, 2))
        sf2 = f.series(t, "sf2", "C", "D", 3)
        f.game(sf2, "D", (5, 13))
        f.game(sf2, "D", (8, 13))
        gf = f.series(t, "gf", "A", "D", 3)
        f.game(gf, "A", (13, 11))
        f.game(gf, "A", (13, 11))
        db.session.commit()
        LS.complete_tournament(t.slug)
        rows = {r["participant_id"]: r for r in LS.results(t.id)}
        assert rows["A"]["rank"] == 1 and rows["D"]["rank"] == 2
        assert rows["A"]["series_score"] == {"sf1": {"A": 2, "B": 0}, "gf": {"A": 2, "D": 0}}
        assert [g["winner_id"] for g in rows["A"]["game_results"]] == ["A", "A", "A", "A"]
        assert rows["B"]["rank"] == rows["C"]["rank"] == 3
