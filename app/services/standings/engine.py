"""The standings engine: which results count and how battle-royale teams are ranked.

Rules (contract §1 and §4; organisers answer disputes with these, so they are exact):
- Only completed matches count; scheduled, live, disputed, cancelled and voided ones do not
  (`counted_results` is the one query of the counted set: the API, the CLI, the public page, its
  movement arrows and chart, the widget and frozen results all read it).
- A team's line in a lobby scores placement points (from the tournament's ruleset; 0 past the
  end of the table) + kills × kill points. Point adjustments add to total points, but only in
  the full standings, never when a match or stage filter is given.
- Order: total points, then the ruleset's tiebreakers in order; the first key that differs
  decides, and that key is reported as the row's `decided_by`. Teams equal on every key share
  a rank (1, 2, 2, 4) and are listed by name.
- `last_match_placement` compares placements from the most recent counted match backwards (a
  match the team did not play is worse than any placement); `earliest_completion` prefers the
  team whose latest counted match completed first. Matches are ordered by `completed_at`, then
  file/creation order.
- Only teams with at least one counted result appear.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any

from sqlalchemy import func, select

from app.errors import ValidationError
from app.extensions import db
from app.models import Match, MatchResult, MatchState, Participant, PointAdjustment, Tournament, is_db_id
from app.scoring import Ruleset, ruleset_for
from app.services.tournaments.lookup import get_tournament
from app.timestamps import iso_z

# A standings row's fields in the contract's order (CLI --json, API, downloads, OpenAPI).
STANDINGS_FIELDS = (
    "rank",
    "participant_id",
    "participant_name",
    "total_points",
    "placement_points",
    "kill_points",
    "adjustment_points",
    "total_kills",
    "wins",
    "best_placement",
    "matches_played",
    "avg_placement",
    "tiebreaker_timestamp",
    "decided_by",
)
_NOT_PLAYED = 1_000_000  # worse than any real placement in last_match_placement


def round_half_up(value: Fraction | Decimal, places: int = 2) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else value
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------------------------
# Ranking: a pure computation over result rows, so it can be tested and benchmarked alone.


@dataclass
class _Line:
    participant_id: int
    key: str
    name: str
    placement_points: int = 0
    kills: int = 0
    wins: int = 0
    best: int = _NOT_PLAYED
    played: int = 0
    placement_sum: int = 0
    latest: datetime | None = None
    placements: dict[int, int] = field(default_factory=dict)  # match index -> placement


def compute_standings(
    rows: Iterable[Sequence[Any]],
    participants: dict[int, tuple[str, str]],
    ruleset: Ruleset,
    adjustments: dict[int, int] | None = None,
    completed_at: dict[int, datetime | None] | None = None,
    *,
    matches: Collection[int] | None = None,
) -> list[dict[str, Any]]:
    """Rank teams from result rows `(match_id, participant_id, placement, kills)` given in match
    order (completed_at, then file/creation order). One pass over the rows.

    Match times come separately (`completed_at`, by match id) because a lobby's time is the
    same on all its rows: reading it once per match instead of once per row halves the cost of
    fetching the rows. `matches`, when given, are the counted matches: rows of any other match
    are skipped (checked when the match changes, so counted rows pay nothing for it)."""
    lines: dict[int, _Line] = {}
    match_index = -1
    previous_match = None
    score = ruleset.placement_score
    times = completed_at or {}
    latest = None
    for match_id, participant_id, placement, kills in rows:
        if match_id != previous_match:
            if matches is not None and match_id not in matches:
                # Not counted: `previous_match` stays, so each of this match's rows (a lobby
                # committed mid-read: rare) lands here, and a counted row pays nothing extra.
                continue
            previous_match = match_id
            match_index += 1
            latest = times.get(match_id)
        line = lines.get(participant_id)
        if line is None:
            key, name = participants[participant_id]
            line = lines[participant_id] = _Line(participant_id, key, name)
        line.placement_points += score(placement)
        line.kills += kills
        line.played += 1
        line.placement_sum += placement
        if placement == 1:
            line.wins += 1
        if placement < line.best:
            line.best = placement
        line.latest = latest
        line.placements[match_index] = placement

    adjustments = adjustments or {}
    order = ("total_points", *ruleset.tiebreakers)
    match_count = match_index + 1

    def sort_values(line: _Line, total: int) -> tuple[Any, ...]:
        values: list[Any] = []
        for key in order:
            if key == "total_points":
                values.append(-total)
            elif key == "wins":
                values.append(-line.wins)
            elif key == "placement_points":
                values.append(-line.placement_points)
            elif key == "total_kills":
                values.append(-line.kills)
            elif key == "best_placement":
                values.append(line.best)
            elif key == "avg_placement":
                values.append(Fraction(line.placement_sum, line.played))
            elif key == "last_match_placement":
                get = line.placements.get
                values.append(tuple(get(i, _NOT_PLAYED) for i in range(match_count - 1, -1, -1)))
            elif key == "earliest_completion":
                values.append(line.latest)
        return tuple(values)

    ranked = []
    for line in lines.values():
        kill_points = line.kills * ruleset.kill_points
        adjustment = adjustments.get(line.participant_id, 0)
        total = line.placement_points + kill_points + adjustment
        ranked.append((sort_values(line, total), line.name.casefold(), line.key, line, kill_points, adjustment, total))
    ranked.sort(key=lambda item: item[:3])

    standings: list[dict[str, Any]] = []
    previous_values: tuple[Any, ...] | None = None
    rank = 0
    for position, (values, _name, _key, line, kill_points, adjustment, total) in enumerate(ranked, start=1):
        decided_by = None
        if previous_values is None:
            rank = position
        else:
            differing = next((i for i, (a, b) in enumerate(zip(values, previous_values, strict=True)) if a != b), None)
            if differing is not None:
                decided_by = order[differing]
                rank = position
        previous_values = values
        standings.append(
            {
                "participant_id": line.key,
                "participant_name": line.name,
                "placement_points": line.placement_points,
                "kill_points": kill_points,
                "adjustment_points": adjustment,
                "total_kills": line.kills,
                "wins": line.wins,
                "best_placement": line.best,
                "matches_played": line.played,
                "avg_placement": float(round_half_up(Fraction(line.placement_sum, line.played))),
                "tiebreaker_timestamp": iso_z(line.latest),
                "total_points": total,
                "decided_by": decided_by,
                "rank": rank,
            }
        )
    return standings


# --------------------------------------------------------------------------------------------
# The counted results


def tournament_ruleset(tournament: Tournament) -> Ruleset:
    return ruleset_for(
        tournament.game,
        tournament.scoring_preset,
        tournament.placement_points,
        tournament.kill_points,
        tournament.tiebreakers,
    )


@dataclass
class CountedResults:
    """The counted result rows `(match_id, participant_id, placement, kills)` of a tournament (and
    filter) in match order, with everything the engine needs to rank them."""

    rows: Iterable[tuple[int, int, int, int]]
    matches: Sequence[tuple[int, str, datetime | None]]  # counted (id, key, completed_at), oldest first
    times: dict[int, datetime | None]  # completed_at by match id
    names: dict[int, tuple[str, str]]  # participant id -> (key, name)
    adjustments: dict[int, int] | None  # None when a filter leaves adjustments out
    ruleset: Ruleset

    # Built when the board asks: the streamed standings (API, CLI) need only `times`.
    @cached_property
    def match_order(self) -> list[int]:
        """Counted match ids, oldest first."""
        return [match_id for match_id, _key, _at in self.matches]

    @cached_property
    def match_keys(self) -> dict[int, str]:
        return {match_id: key for match_id, key, _at in self.matches}

    @cached_property
    def placements(self) -> dict[str, dict[int, int]]:
        """Team key -> match index (in `match_order`) -> placement (needs kept rows)."""
        index = {match_id: i for i, match_id in enumerate(self.match_order)}
        found: dict[str, dict[int, int]] = {}
        for match_id, participant_id, placement, _kills in self.rows:
            found.setdefault(self.names[participant_id][0], {})[index[match_id]] = placement
        return found


def counted_results(
    tournament: Tournament,
    *,
    match_ids: Sequence[int] | None = None,
    stage: str | None = None,
    keep_rows: bool = True,
) -> CountedResults:
    """Read the counted results (see the rule above), narrowed to `match_ids` (checked database
    ids of this tournament) and/or `stage`. With a filter, point adjustments are left out.

    `keep_rows=False` streams the rows once, straight into the engine (the API's and CLI's
    standings), as read: they may then hold rows of a lobby committed after `match_order` was
    read, which `compute_standings(..., matches=counted.times.keys())` skips once per match. The
    public board keeps the rows (movement and the chart read them again), already filtered."""
    where = [Match.tournament_id == tournament.id, Match.state == MatchState.COMPLETED.value, Match.voided_at.is_(None)]
    if match_ids is not None:
        where.append(Match.id.in_(match_ids))
    if stage is not None:
        where.append(Match.stage == stage)
    order = (Match.completed_at, Match.position, Match.id)
    # Core execution: plain tuples, without the ORM's per-row work (a big event has ~10^6 rows).
    connection = db.session.connection()
    matches = connection.execute(select(Match.id, Match.key, Match.completed_at).where(*where).order_by(*order)).all()
    # Each statement sees its own snapshot (READ COMMITTED): a lobby committed between the two
    # reads has results but is not in `matches`. Counting only the matches read keeps the
    # standings consistent (that lobby belongs to the next results version).
    # Through the session, not `connection`: its result is fetched whole by psycopg, which on
    # PostgreSQL reads 100,000 rows ~10 % faster than the connection's row-at-a-time fetch.
    result = db.session.execute(
        select(MatchResult.match_id, MatchResult.participant_id, MatchResult.placement, MatchResult.kills)
        .join(Match, MatchResult.match_id == Match.id)
        .where(*where)
        .order_by(*order)
    )
    times = {match_id: at for match_id, _key, at in matches}
    if keep_rows:
        rows: Iterable[tuple[int, int, int, int]] = [tuple(row) for row in result if row[0] in times]  # type: ignore[misc]
    else:
        rows = result  # type: ignore[assignment]  (the engine skips unknown matches: `matches=times`)
    adjustments = None
    if match_ids is None and stage is None:
        adjustments = dict(
            db.session.execute(
                select(PointAdjustment.participant_id, func.sum(PointAdjustment.points))
                .where(PointAdjustment.tournament_id == tournament.id)
                .group_by(PointAdjustment.participant_id)
            ).all()
        )
    return CountedResults(
        rows=rows,
        matches=matches,
        times=times,
        names=_participant_names(tournament.id),
        adjustments=adjustments,
        ruleset=tournament_ruleset(tournament),
    )


def _participant_names(tournament_id: int) -> dict[int, tuple[str, str]]:
    rows = db.session.execute(
        select(Participant.id, Participant.key, Participant.name).where(Participant.tournament_id == tournament_id)
    )
    return {pid: (key, name) for pid, key, name in rows}


def _check_match_ids(tournament_id: int, match_ids: Sequence[int]) -> list[int]:
    wanted = []
    for value in match_ids:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"match_ids: {value!r} is not a match id")
        wanted.append(value)
    if not wanted:
        raise ValidationError("match_ids: give at least one match id")
    possible = [i for i in wanted if is_db_id(i)]
    found = set(
        db.session.scalars(select(Match.id).where(Match.tournament_id == tournament_id, Match.id.in_(possible)))
    )
    unknown = [str(i) for i in wanted if i not in found]
    if unknown:
        raise ValidationError(f"match_ids: no match {', '.join(unknown)} in this tournament")
    return wanted


def br_standings(
    tournament_id: int | str,
    match_ids: Sequence[int] | None = None,
    stage: str | None = None,
) -> list[dict[str, Any]]:
    """Standings rows (contract §3) for a battle-royale tournament.

    `match_ids` (database ids) and `stage` narrow the counted matches; with either, point
    adjustments are left out because they belong to the event as a whole.
    """
    tournament = get_tournament(tournament_id)
    if not tournament.is_battle_royale:
        raise ValidationError(f"{tournament.slug} is a {tournament.game_name} tournament, not battle royale")
    wanted = _check_match_ids(tournament.id, match_ids) if match_ids is not None else None
    counted = counted_results(tournament, match_ids=wanted, stage=stage, keep_rows=False)
    return compute_standings(
        counted.rows, counted.names, counted.ruleset, counted.adjustments, counted.times, matches=counted.times.keys()
    )
