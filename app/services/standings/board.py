"""What a battle-royale page shows around the standings rows (which come from the leaderboard
service, the same ones the API and CLI give).

Rules, as the page states them:
- Filters: `?stage=NAME` and `?matches=KEY,KEY` (lobby keys) narrow the counted matches, exactly as
  in the API and CLI (then point adjustments are left out). An unknown stage or key is a 404 page
  naming it.
- Movement (▲2 / ▼1) compares each team's rank with its rank in the same standings before the
  most recent counted match (same filter, same adjustments); a team with no earlier result is
  "new". With fewer than two counted matches nothing moves.
- Gap: points behind the row above.
- Tie note: where a row is level on points with the row above, the deciding key (`decided_by`)
  is written out with both teams' values; a rank shared on every key says so.
- Advancement line (`tournament.advancing` = N): drawn under the Nth row of the full standings
  (not of a stage or match filter, which decide nothing), when more than N teams are listed. Each
  team's points to the line: for a team above it, its lead over the first team below the line;
  for a team below, how far it is behind the Nth team.
- Chart: cumulative points of the top teams (at most CHART_TEAMS, in standings order) after each
  counted match; point adjustments, when counted, are one last step so the lines end at the
  totals. With many matches the points are sampled (at most CHART_SAMPLES, the last always).
- Point adjustments are listed under the full standings with their reasons ("−3: late check-in").
- Lobby list: newest first, LOBBIES_PER_PAGE per page (`?lobbies=N`), so a tournament with
  tens of thousands of lobbies keeps a small page and fragment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Match, Participant, PointAdjustment, Tournament
from app.services.standings import shown
from app.services.standings.engine import CountedResults, compute_standings, counted_results

LOBBIES_PER_PAGE = 20
CHART_TEAMS = 10
CHART_SAMPLES = 120
CHART_X_LABELS = 12  # match labels under the chart at most (6 on a phone)
CHART_X_LABELS_PHONE = 6
MAX_MATCH_KEYS = 500

# Chart geometry (SVG user units); the SVG scales to its container.
CHART_WIDTH = 720
CHART_HEIGHT = 320
CHART_PAD = {"left": 56, "right": 24, "top": 16, "bottom": 36}


class FilterError(Exception):
    """A filter that names nothing in this tournament (shown as a 404 page)."""


@dataclass
class Filters:
    stage: str | None = None
    match_keys: tuple[str, ...] = ()
    match_ids: list[int] | None = None

    @property
    def active(self) -> bool:
        return self.stage is not None or self.match_ids is not None


def stages(tournament_id: int) -> list[str]:
    """The tournament's stages in the order they were first played (or scheduled)."""
    rows = db.session.execute(
        select(Match.stage, func.min(Match.position), func.min(Match.id))
        .where(
            Match.tournament_id == tournament_id,
            Match.stage.is_not(None),
            Match.series_id.is_(None),
            Match.voided_at.is_(None),  # a stage only a voided lobby named was never played
        )
        .group_by(Match.stage)
    ).all()
    return [stage for stage, _position, _id in sorted(rows, key=lambda row: (row[1], row[2], row[0]))]


def parse_match_keys(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    keys = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if len(keys) > MAX_MATCH_KEYS:
        raise FilterError(f"matches: at most {MAX_MATCH_KEYS} match keys, found {len(keys)}")
    return keys


def resolve_filters(tournament: Tournament, stage: str | None, match_keys: tuple[str, ...]) -> Filters:
    """Check the filters against the tournament; FilterError names the first unknown one."""
    filters = Filters(stage=stage, match_keys=match_keys)
    if stage is not None and stage not in stages(tournament.id):
        raise FilterError(f"There is no stage called “{stage}” in {tournament.name}.")
    if match_keys:
        found = dict(
            db.session.execute(
                select(Match.key, Match.id).where(
                    Match.tournament_id == tournament.id, Match.series_id.is_(None), Match.key.in_(match_keys)
                )
            ).all()
        )
        missing = [key for key in match_keys if key not in found]
        if missing:
            raise FilterError(f"There is no match “{missing[0]}” in {tournament.name}.")
        filters.match_ids = [found[key] for key in match_keys]
    return filters


def standings(tournament: Tournament, filters: Filters) -> list[dict[str, Any]]:
    """The rows the page shows now (app.services.standings.shown), for the downloads."""
    return shown.standings_now(tournament, match_ids=filters.match_ids, stage=filters.stage)


# --------------------------------------------------------------------------------------------


def _counted(tournament: Tournament, filters: Filters) -> CountedResults:
    """The counted results for these filters: the engine's own query (app.services.standings.engine),
    rows kept, since the standings, the movement and the chart all read them."""
    return counted_results(tournament, match_ids=filters.match_ids, stage=filters.stage)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


TIEBREAK_LABELS = {
    "wins": "wins",
    "placement_points": "placement points",
    "total_kills": "total kills",
    "best_placement": "best placement",
    "avg_placement": "average placement",
    "last_match_placement": "placement in the most recent match where they differ",
    "earliest_completion": "finishing their last counted match earlier",
}


def wins_word(game: str) -> str:
    return {"freefire": "Booyahs", "pubgm": "WWCD"}.get(game, "wins")


def _tiebreak_values(key: str, above: dict[str, Any], row: dict[str, Any], counted: CountedResults) -> str:
    if key == "wins":
        return f"{above['wins']} vs {row['wins']}"
    if key == "placement_points":
        return f"{above['placement_points']} vs {row['placement_points']}"
    if key == "total_kills":
        return f"{above['total_kills']} vs {row['total_kills']}"
    if key == "best_placement":
        return f"{_ordinal(above['best_placement'])} vs {_ordinal(row['best_placement'])}"
    if key == "avg_placement":
        return f"{above['avg_placement']:.2f} vs {row['avg_placement']:.2f}"
    if key == "last_match_placement":
        a = counted.placements.get(above["participant_id"], {})
        b = counted.placements.get(row["participant_id"], {})
        for i in range(len(counted.match_order) - 1, -1, -1):
            if a.get(i) != b.get(i):
                match_key = counted.match_keys[counted.match_order[i]]

                def shown(p: int | None) -> str:
                    return _ordinal(p) if p is not None else "did not play"

                return f"{shown(a.get(i))} vs {shown(b.get(i))} in match {match_key}"
        return ""
    if key == "earliest_completion":
        a, b = (_when(r.get("tiebreaker_timestamp")) for r in (above, row))
        return f"{a} vs {b}"
    return ""


def _when(stamp: str | None) -> str:
    return stamp.replace("T", " ").replace("Z", " UTC") if stamp else "—"


def tie_note(row: dict[str, Any], above: dict[str, Any] | None, counted: CountedResults, game: str) -> str | None:
    """The visible sentence for a row level on points with the row above (None otherwise)."""
    if above is None:
        return None
    points = row["total_points"]
    if row["decided_by"] is None:
        return (
            f"Level on {points} pts with {above['participant_name']} and on every tiebreaker: "
            f"they share rank {row['rank']}."
        )
    key = row["decided_by"]
    if key == "total_points":
        return None
    label = wins_word(game) if key == "wins" else TIEBREAK_LABELS.get(key, key.replace("_", " "))
    values = _tiebreak_values(key, above, row, counted)
    return f"Level on {points} pts with {above['participant_name']}, who are ahead on {label}" + (
        f", {values}." if values else "."
    )


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


# --------------------------------------------------------------------------------------------


def _nice_range(low: int, high: int, ticks: int = 4) -> tuple[int, int, int]:
    """Axis bounds and a round step (1, 2 or 5 x 10^k) covering low..high in about `ticks` steps."""
    raw = max(1, (high - low) / ticks)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for m in (1, 2, 5, 10, 20):
        step = m * magnitude
        if -(-high // step) - (low // step) <= ticks + 1:
            break
    return (low // step) * step, -(-high // step) * step, step


def _spread(indexes: list[int], most: int) -> list[int]:
    """At most `most` of `indexes`, evenly spread, always the first and the last."""
    if len(indexes) <= most:
        return list(indexes)
    stride = (len(indexes) - 1) / (most - 1)
    return sorted({indexes[round(i * stride)] for i in range(most)})


def _chart(rows: list[dict[str, Any]], counted: CountedResults) -> dict[str, Any] | None:
    if not rows or not counted.match_order:
        return None
    shown = rows[:CHART_TEAMS]
    keys = [row["participant_id"] for row in shown]
    key_of_pid = {pid: key for pid, (key, _name) in counted.names.items()}
    wanted = set(keys)
    index = {match_id: i for i, match_id in enumerate(counted.match_order)}
    per_match: dict[str, list[int]] = {key: [0] * len(counted.match_order) for key in keys}
    score, kill_points = counted.ruleset.placement_score, counted.ruleset.kill_points
    for match_id, participant_id, placement, kills in counted.rows:
        key = key_of_pid[participant_id]
        if key in wanted:
            per_match[key][index[match_id]] += score(placement) + kills * kill_points

    labels = [counted.match_keys[m] for m in counted.match_order]
    cumulative: dict[str, list[int]] = {}
    for key in keys:
        total, values = 0, [0]
        for points in per_match[key]:
            total += points
            values.append(total)
        cumulative[key] = values
    steps = ["start", *labels]
    adjusted = counted.adjustments is not None and any(row["adjustment_points"] for row in shown)
    if adjusted:
        for row in shown:
            cumulative[row["participant_id"]].append(cumulative[row["participant_id"]][-1] + row["adjustment_points"])
        steps.append("adjustments")

    count = len(steps)
    if count > CHART_SAMPLES:
        stride = (count - 1) / (CHART_SAMPLES - 1)
        picks = sorted({round(i * stride) for i in range(CHART_SAMPLES)} | {count - 1})
    else:
        picks = list(range(count))

    low, high, step = _nice_range(
        min(0, *(min(v) for v in cumulative.values())), max(1, *(max(v) for v in cumulative.values()))
    )
    left, right, top, bottom = CHART_PAD["left"], CHART_PAD["right"], CHART_PAD["top"], CHART_PAD["bottom"]
    inner_w = CHART_WIDTH - left - right
    inner_h = CHART_HEIGHT - top - bottom

    def x(i: int) -> float:
        return left + (inner_w * i / (count - 1) if count > 1 else inner_w / 2)

    def y(v: int) -> float:
        return top + inner_h * (high - v) / (high - low)

    lines = []
    for n, row in enumerate(shown):
        values = cumulative[row["participant_id"]]
        points = " ".join(f"{x(i):.1f},{y(values[i]):.1f}" for i in picks)
        lines.append(
            {
                "name": row["participant_name"],
                "total": values[-1],
                "points": points,
                "colour": n,
                "end_x": f"{x(count - 1):.1f}",
                "end_y": f"{y(values[-1]):.1f}",
            }
        )
    ticks = [{"label": str(value), "y": f"{y(value):.1f}"} for value in range(low, high + 1, step)]
    # Each match is labelled under its point (thinned so labels never collide); "major" labels
    # are the ones a phone keeps.
    names = ["start", *labels, *(["adj."] if adjusted else [])]
    phone = set(_spread(picks, CHART_X_LABELS_PHONE))
    x_labels = [{"x": f"{x(i):.1f}", "label": names[i], "major": i in phone} for i in _spread(picks, CHART_X_LABELS)]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": left,
        "right": CHART_WIDTH - right,
        "top": top,
        "bottom": CHART_HEIGHT - bottom,
        "lines": lines,
        "ticks": ticks,
        "x_labels": x_labels,
        "matches": len(counted.match_order),
        "adjusted": adjusted,
        "sampled": count > CHART_SAMPLES,
        "more_teams": max(0, len(rows) - len(shown)),
        "first_label": steps[1] if len(steps) > 1 else "",
        "last_label": labels[-1] if labels else "",
    }


# --------------------------------------------------------------------------------------------


def adjustment_notes(tournament: Tournament) -> list[dict[str, Any]]:
    """Each penalty or bonus with its reason, oldest first: viewers see why a total moved."""
    rows = db.session.execute(
        select(Participant.name, PointAdjustment.points, PointAdjustment.reason)
        .join(Participant, Participant.id == PointAdjustment.participant_id)
        .where(PointAdjustment.tournament_id == tournament.id)
        .order_by(PointAdjustment.id)
    ).all()
    return [{"team": name, "points": points, "reason": reason} for name, points, reason in rows]


def _lobby_filter(tournament_id: int, stage: str | None) -> list[Any]:
    # A voided lobby was entered by mistake: the public list leaves it out.
    where = [Match.tournament_id == tournament_id, Match.series_id.is_(None), Match.voided_at.is_(None)]
    if stage is not None:
        where.append(Match.stage == stage)
    return where


def lobby_page_count(tournament_id: int, stage: str | None) -> int:
    """How many pages the lobby list has (at least 1): a page number past it is no variant."""
    total = db.session.scalar(select(func.count(Match.id)).where(*_lobby_filter(tournament_id, stage))) or 0
    return max(1, -(-total // LOBBIES_PER_PAGE))


def lobby_page(tournament: Tournament, stage: str | None, page: int) -> dict[str, Any]:
    where = _lobby_filter(tournament.id, stage)
    total = db.session.scalar(select(func.count(Match.id)).where(*where)) or 0
    pages = max(1, -(-total // LOBBIES_PER_PAGE))
    page = min(max(page, 1), pages)
    lobbies = list(
        db.session.scalars(
            select(Match)
            .where(*where)
            .order_by(Match.position.desc(), Match.id.desc())
            .offset((page - 1) * LOBBIES_PER_PAGE)
            .limit(LOBBIES_PER_PAGE)
        )
    )
    return {"rows": lobbies, "total": total, "page": page, "pages": pages}


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
        "chart": _chart([row for row in rows if row["matches_played"]], counted),
        "counted_matches": len(counted.match_order),
    }
