"""What a battle-royale page shows around the standings rows (which come from the leaderboard
service, the same ones the API and CLI give).

Rules, as the page states them:
- Filters (`?stage=`, `?matches=`): app/services/standings/filters.py.
- Movement (▲2 / ▼1) compares each team's rank with its rank in the same standings before the
  most recent counted match (same filter, same adjustments); a team with no earlier result is
  "new". With fewer than two counted matches nothing moves.
- Gap: points behind the row above.
- Tie note: where a row is level on points with the row above, the deciding key is written out
  (app/services/standings/tie_notes.py).
- Advancement line (`tournament.advancing` = N): drawn under the Nth row of the full standings
  (not of a stage or match filter, which decide nothing), when more than N teams are listed. Each
  team's points to the line: for a team above it, its lead over the first team below the line;
  for a team below, how far it is behind the Nth team.
- Chart: cumulative points of the top teams after each counted match
  (app/services/standings/chart.py).
- Point adjustments are listed under the full standings with their reasons ("−3: late check-in").
- Lobby list: newest first, a page at a time (app/services/standings/lobby_pages.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Participant, PointAdjustment, Tournament
from app.services.standings import shown
from app.services.standings.chart import chart_for
from app.services.standings.engine import CountedResults, compute_standings, counted_results
from app.services.standings.filters import Filters
from app.services.standings.tie_notes import tie_note


def standings(tournament: Tournament, filters: Filters) -> list[dict[str, Any]]:
    """The rows the page shows now (app.services.standings.shown), for the downloads."""
    return shown.standings_now(tournament, match_ids=filters.match_ids, stage=filters.stage)


# --------------------------------------------------------------------------------------------


def _counted(tournament: Tournament, filters: Filters) -> CountedResults:
    """The counted results for these filters: the engine's own query (app.services.standings.engine),
    rows kept, since the standings, the movement and the chart all read them."""
    return counted_results(tournament, match_ids=filters.match_ids, stage=filters.stage)


def _movements(current: list[dict[str, Any]], counted: CountedResults) -> dict[str, int | None]:
    """Rank change per team key since before the latest counted match (None: new this match)."""
    if len(counted.match_order) < 2:
        return {}
    last = counted.match_order[-1]
    previous = compute_standings(
        (row for row in counted.rows if row[0] != last),
        counted.names,
        counted.ruleset,
        counted.adjustments,
        counted.times,
    )
    before = {row["participant_id"]: row["rank"] for row in previous}
    moves: dict[str, int | None] = {}
    for row in current:
        key = row["participant_id"]
        moves[key] = before[key] - row["rank"] if key in before else None
    return moves


def adjustment_notes(tournament: Tournament) -> list[dict[str, Any]]:
    """Each penalty or bonus with its reason, oldest first: viewers see why a total moved."""
    rows = db.session.execute(
        select(Participant.name, PointAdjustment.points, PointAdjustment.reason)
        .join(Participant, Participant.id == PointAdjustment.participant_id)
        .where(PointAdjustment.tournament_id == tournament.id)
        .order_by(PointAdjustment.id)
    ).all()
    return [{"team": name, "points": points, "reason": reason} for name, points, reason in rows]


def battle_royale_board(tournament: Tournament, filters: Filters) -> dict[str, Any]:
    """Everything the standings block of a battle-royale page shows, for these filters.

    The rows are ranked by the engine's own `compute_standings` over the same counted rows the
    leaderboard service reads (tests hold the two equal); reading the rows once here serves the
    standings, the movement and the chart."""
    counted = _counted(tournament, filters)
    engine_rows = compute_standings(counted.rows, counted.names, counted.ruleset, counted.adjustments, counted.times)
    rows = shown.arrange(tournament, engine_rows, filtered=filters.active)
    final = shown.is_final(tournament, filtered=filters.active)
    moves = _movements(engine_rows, counted) if shown.shows_movement(tournament) else {}
    advancing = tournament.advancing if not filters.active else None
    line_after = advancing if advancing and len(rows) > advancing else None
    decorated = []
    for i, row in enumerate(rows):
        above = rows[i - 1] if i else None
        # A tie note explains the engine's order; a staff pin replaced it for the rows it touches.
        explained = (
            above is not None
            and row["matches_played"] > 0
            and above["matches_played"] > 0
            and not (row["is_override"] or above["is_override"])
        )
        to_line = None
        if line_after is not None:
            if i < line_after:
                to_line = row["total_points"] - rows[line_after]["total_points"]
            else:
                to_line = row["total_points"] - rows[line_after - 1]["total_points"]
        decorated.append(
            {
                **row,
                "movement": moves.get(row["participant_id"], 0) if moves else 0,
                "is_new": bool(moves) and moves.get(row["participant_id"], 0) is None,
                "gap": None if above is None else above["total_points"] - row["total_points"],
                "tie_note": tie_note(row, above, counted, tournament.game) if explained else None,
                "qualifies": line_after is not None and i < line_after,
                "to_line": to_line,
                "line_below": line_after is not None and i == line_after - 1,
            }
        )
    return {
        "standings": decorated,
        "final": final,
        "advancing": advancing,
        "line_after": line_after,
        "show_adjustments": any(row["adjustment_points"] for row in rows),
        "adjustments": [] if filters.active else adjustment_notes(tournament),
        "chart": chart_for([row for row in rows if row["matches_played"]], counted),
        "counted_matches": len(counted.match_order),
    }
