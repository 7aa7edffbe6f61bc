"""The leaderboard engine: battle-royale standings, series summaries and final placements.

Rules (contract §1 and §4; organisers answer disputes with these, so they are exact):

Standings
- Only completed matches count; scheduled, live, disputed and cancelled ones do not.
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

Series
- A series of best-of N is won by the first participant to `N // 2 + 1` game wins. A forfeit
  decides it regardless of games. With every one of the N games played and nobody at the
  majority (an even best-of split, or drawn maps), it is a draw; otherwise it is in progress.

Final placements
- Completing a tournament freezes the standings into `TournamentResult` rows. An override pins
  one participant at a rank; every other participant keeps its frozen order and fills the
  remaining ranks (teams that were tied stay tied). A new pin on a pinned rank replaces that
  pin; repeating an identical override changes nothing and records nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import signals
from app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.extensions import db
from app.models import (
    Match,
    MatchResult,
    MatchState,
    Participant,
    PointAdjustment,
    Series,
    Tournament,
    TournamentResult,
    TournamentStatus,
    User,
    is_db_id,
    utcnow,
)
from app.scoring import Ruleset, ruleset_for
from app.services import audit
from app.services.locks import lock_tournament
from app.services.roster_visibility import hidden_set
from app.services.text import storable
from app.services.timestamps import iso_z

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
MIN_REASON_LENGTH = 10
MAX_REASON_LENGTH = 500
_NOT_PLAYED = 1_000_000  # worse than any real placement in last_match_placement


def round_half_up(value: Fraction | Decimal, places: int = 2) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else value
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------------------------
# Standings: a pure computation over result rows, so it can be tested and benchmarked alone.


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
    completed_at: dict[int, datetime] | None = None,
) -> list[dict[str, Any]]:
    """Rank teams from result rows `(match_id, participant_id, placement, kills)` given in match
    order (completed_at, then file/creation order). One pass over the rows.

    Match times come separately (`completed_at`, by match id) because a lobby's time is the
    same on all its rows: reading it once per match instead of once per row halves the cost of
    fetching the rows."""
    lines: dict[int, _Line] = {}
    match_index = -1
    previous_match = None
    score = ruleset.placement_score
    times = completed_at or {}
    latest = None
    for match_id, participant_id, placement, kills in rows:
        if match_id != previous_match:
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
# Loading helpers


def get_tournament(ref: int | str) -> Tournament:
    """A tournament by numeric id or slug (the API accepts either)."""
    tournament = None
    number = ref if isinstance(ref, int) else int(ref) if ref.isascii() and ref.isdigit() and len(ref) < 12 else None
    if is_db_id(number):
        tournament = db.session.get(Tournament, number)
    if tournament is None and isinstance(ref, str) and storable(ref):
        tournament = db.session.scalar(select(Tournament).where(Tournament.slug == ref))
    if tournament is None:
        raise NotFound(f"tournament {ref!r} not found")
    return tournament


def get_tournament_by_slug(slug: str) -> Tournament:
    """The command line names tournaments by slug only, never by id."""
    tournament = db.session.scalar(select(Tournament).where(Tournament.slug == slug)) if storable(slug) else None
    if tournament is None:
        raise NotFound(f"tournament {slug!r} not found")
    return tournament


def tournament_ruleset(tournament: Tournament) -> Ruleset:
    return ruleset_for(
        tournament.game,
        tournament.scoring_preset,
        tournament.placement_points,
        tournament.kill_points,
        tournament.tiebreakers,
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


class LeaderboardService:
    """The seed's three operations, plus completion and clearing an override."""

    # ---------------------------------------------------------------- standings

    @staticmethod
    def calculate_br_standings(
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
        ruleset = tournament_ruleset(tournament)

        # A voided lobby (entered by mistake, see services.corrections) keeps its state but never counts.
        counted = [
            Match.tournament_id == tournament.id,
            Match.state == MatchState.COMPLETED.value,
            Match.voided_at.is_(None),
        ]
        filtered = match_ids is not None or stage is not None
        if match_ids is not None:
            counted.append(Match.id.in_(_check_match_ids(tournament.id, match_ids)))
        if stage is not None:
            counted.append(Match.stage == stage)
        match_order = (Match.completed_at, Match.position, Match.id)
        times = dict(db.session.execute(select(Match.id, Match.completed_at).where(*counted)).all())
        query = (
            select(MatchResult.match_id, MatchResult.participant_id, MatchResult.placement, MatchResult.kills)
            .join(Match, MatchResult.match_id == Match.id)
            .where(*counted)
            .order_by(*match_order)
        )

        adjustments = None
        if not filtered:
            adjustments = dict(
                db.session.execute(
                    select(PointAdjustment.participant_id, func.sum(PointAdjustment.points))
                    .where(PointAdjustment.tournament_id == tournament.id)
                    .group_by(PointAdjustment.participant_id)
                ).all()
            )
        rows = db.session.execute(query)
        return compute_standings(rows, _participant_names(tournament.id), ruleset, adjustments, times)

    # ---------------------------------------------------------------- series

    @staticmethod
    def calculate_series_summary(match_ids: Sequence[int]) -> dict[str, Any]:
        """Summary of one series from the ids of its games (all, or the ones given)."""
        if not match_ids:
            raise ValidationError("match_ids: give the ids of a series' games")
        for value in match_ids:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"match_ids: {value!r} is not a match id")
        possible = [i for i in match_ids if is_db_id(i)]
        matches = list(db.session.scalars(select(Match).where(Match.id.in_(possible))))
        missing = sorted(set(match_ids) - {m.id for m in matches})
        if missing:
            raise NotFound(f"no match {', '.join(map(str, missing))}")
        series_ids = {m.series_id for m in matches}
        if None in series_ids:
            loose = next(m for m in matches if m.series_id is None)
            raise ValidationError(f"match {loose.id} is not a game of a series")
        if len(series_ids) != 1:
            raise ValidationError("match_ids: the games belong to different series")
        series = db.session.get(Series, series_ids.pop())
        return summarise_series(series, matches)

    @staticmethod
    def series_summary_for_match(tournament_id: int | str, match_id: int) -> dict[str, Any]:
        """Summary of the whole series that one game belongs to (the API's series endpoint)."""
        tournament = get_tournament(tournament_id)
        match = db.session.get(Match, match_id) if is_db_id(match_id) else None
        if match is None or match.tournament_id != tournament.id:
            raise NotFound(f"no match {match_id} in {tournament.slug}")
        if match.series_id is None:
            raise ValidationError(f"match {match_id} is not a game of a series")
        series = db.session.get(Series, match.series_id)
        return summarise_series(series, series.games)

    @staticmethod
    def series_summary_by_key(tournament_id: int | str, series_key: str) -> dict[str, Any]:
        tournament = get_tournament(tournament_id)
        series = db.session.scalar(
            select(Series).where(Series.tournament_id == tournament.id, Series.key == series_key)
        )
        if series is None:
            raise NotFound(f"no series {series_key!r} in {tournament.slug}")
        return summarise_series(series, series.games)

    # ---------------------------------------------------------------- final results

    @staticmethod
    def complete_tournament(tournament_id: int | str, actor_id: int | None = None) -> Tournament:
        """Move a live tournament to completed and freeze its standings; refused while any
        match is live or disputed, since those results may still change."""
        tournament = get_tournament(tournament_id)
        lock_tournament(tournament)
        if tournament.status == TournamentStatus.COMPLETED.value:
            raise Conflict(f"{tournament.slug} is already completed")
        if tournament.status != TournamentStatus.LIVE.value:
            raise Conflict(f"{tournament.slug} is {tournament.status}; only a live tournament can be completed")
        open_matches = db.session.execute(
            select(Match.key, Match.state)
            .where(
                Match.tournament_id == tournament.id,
                Match.state.in_([MatchState.LIVE.value, MatchState.DISPUTED.value]),
                Match.voided_at.is_(None),  # a voided lobby will never count: it blocks nothing
            )
            .order_by(Match.position, Match.id)
        ).all()
        if open_matches:
            listed = ", ".join(f"{key} ({state})" for key, state in open_matches[:10])
            raise Conflict(f"{tournament.slug} cannot be completed while matches are live or disputed: {listed}")
        freeze_results(tournament.id)
        tournament.status = TournamentStatus.COMPLETED.value
        tournament.completed_at = utcnow()
        audit.record(
            "tournament.completed",
            target_type="tournament",
            target_id=tournament.id,
            tournament_id=tournament.id,
            actor_id=actor_id,
            before={"status": TournamentStatus.LIVE.value},
            after={"status": TournamentStatus.COMPLETED.value},
        )
        signals.tournament_completed.send(tournament, tournament_id=tournament.id, actor_id=actor_id)
        db.session.commit()
        return tournament

    @staticmethod
    def results(tournament_id: int | str) -> list[dict[str, Any]]:
        tournament = get_tournament(tournament_id)
        if tournament.status != TournamentStatus.COMPLETED.value:
            raise Conflict(f"{tournament.slug} is not completed yet; final results exist after completion")
        rows = db.session.execute(
            select(TournamentResult, Participant.key, Participant.name)
            .join(Participant, Participant.id == TournamentResult.participant_id)
            .where(TournamentResult.tournament_id == tournament.id)
            .order_by(TournamentResult.rank, TournamentResult.frozen_position)
        ).all()
        return [_result_row(result, key, name) for result, key, name in rows]

    @staticmethod
    def override_placement(
        tournament_id: int | str,
        participant_id: str,
        new_rank: int,
        reason: str,
        actor_id: int,
        *,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Pin `participant_id` at `new_rank` in the final results (staff only, audited).
        `expected_version`: the results version the caller previewed; refused if it moved."""
        tournament = get_tournament(tournament_id)
        actor = _staff_actor(actor_id)
        reason = _checked_reason(reason)
        if isinstance(new_rank, bool) or not isinstance(new_rank, int):
            raise ValidationError("new_rank: must be an integer")
        results = _lock_final_results(tournament, expected_version)
        target = _result_for(results, participant_id, tournament.slug)
        if not 1 <= new_rank <= len(results):
            raise ValidationError(f"new_rank: must be between 1 and {len(results)}")

        old_rank = target.rank
        if target.is_override and target.rank == new_rank and target.override_reason == reason:
            db.session.rollback()  # identical override: nothing changes, nothing is recorded
            target = db.session.get(TournamentResult, target.id)
            return _override_response(target, participant_id, old_rank)

        before = _rank_map(results)
        replaced = None
        for other in results:
            if other is not target and other.is_override and other.rank == new_rank:
                replaced = other.participant.key
                _unpin(other)
        db.session.flush()  # the old pin must leave the rank before the new one takes it
        target.is_override = True
        target.rank = new_rank
        target.override_reason = reason
        target.override_actor_id = actor.id
        target.override_timestamp = utcnow().replace(microsecond=0)
        _apply_pins(results)
        audit.record(
            "placement.override",
            target_type="tournament_result",
            target_id=target.id,
            tournament_id=tournament.id,
            actor_id=actor.id,
            before={"participant_id": participant_id, "rank": old_rank, "ranks": before},
            after={
                "participant_id": participant_id,
                "rank": new_rank,
                "ranks": _rank_map(results),
                "replaced_pin_of": replaced,
            },
            reason=reason,
        )
        signals.placement_overridden.send(
            target,
            tournament=tournament,
            tournament_id=tournament.id,
            participant_id=participant_id,
            old_rank=old_rank,
            new_rank=new_rank,
            cleared=False,
        )
        db.session.commit()
        return _override_response(target, participant_id, old_rank)

    @staticmethod
    def clear_override(
        tournament_id: int | str,
        participant_id: str,
        reason: str,
        actor_id: int,
        *,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Remove a pin; the participant returns to its frozen order (audited)."""
        tournament = get_tournament(tournament_id)
        actor = _staff_actor(actor_id)
        reason = _checked_reason(reason)
        results = _lock_final_results(tournament, expected_version)
        target = _result_for(results, participant_id, tournament.slug)
        if not target.is_override:
            raise Conflict(f"{participant_id} has no override to clear")
        before = _rank_map(results)
        old_rank = target.rank
        _unpin(target)
        _apply_pins(results)
        audit.record(
            "placement.override_cleared",
            target_type="tournament_result",
            target_id=target.id,
            tournament_id=tournament.id,
            actor_id=actor.id,
            before={"participant_id": participant_id, "rank": old_rank, "ranks": before},
            after={"participant_id": participant_id, "rank": target.rank, "ranks": _rank_map(results)},
            reason=reason,
        )
        signals.placement_overridden.send(
            target,
            tournament=tournament,
            tournament_id=tournament.id,
            participant_id=participant_id,
            old_rank=old_rank,
            new_rank=target.rank,
            cleared=True,
        )
        db.session.commit()
        return {
            "success": True,
            "result_id": target.id,
            "participant_id": participant_id,
            "old_rank": old_rank,
            "new_rank": target.rank,
        }


# --------------------------------------------------------------------------------------------
# Series


def summarise_series(series: Series, games: Iterable[Match]) -> dict[str, Any]:
    """The series summary of contract §3 over `games` (only completed ones count)."""
    key_a, key_b = series.participant_a.key, series.participant_b.key
    keys_by_id = {series.participant_a_id: key_a, series.participant_b_id: key_b}
    wins_needed = series.best_of // 2 + 1
    wins = {key_a: 0, key_b: 0}
    counted = sorted(
        (g for g in games if g.state == MatchState.COMPLETED.value),
        key=lambda g: (g.game_number or 0, g.completed_at or datetime.max.replace(tzinfo=UTC), g.id),
    )
    winner_key = None
    rows = []
    for game in counted:
        game_winner = keys_by_id.get(game.winner_id) if game.winner_id else None
        if game_winner is not None:
            wins[game_winner] += 1
            if winner_key is None and wins[game_winner] >= wins_needed:
                winner_key = game_winner
        score = None
        if game.score_a is not None and game.score_b is not None:
            score = {key_a: game.score_a, key_b: game.score_b}
        rows.append({"match_id": game.id, "game_number": game.game_number, "winner_id": game_winner, "score": score})

    if series.forfeit_winner_id is not None:
        status, winner_key = "forfeit", keys_by_id[series.forfeit_winner_id]
    elif winner_key is not None:
        status = "completed"
    elif len(counted) >= series.best_of:
        status = "draw"
    else:
        status = "in_progress"
    return {
        "series_id": series.id,
        "best_of": series.best_of,
        "wins_needed": wins_needed,
        "status": status,
        "series_winner_id": winner_key,
        "series_score": wins,
        "games": rows,
    }


# --------------------------------------------------------------------------------------------
# Freezing and pinning final results


def freeze_results(tournament_id: int) -> None:
    """Write the current standings as final results (no commit: the caller owns the
    transaction). Participants without a counted result share the last place."""
    tournament = db.session.get(Tournament, tournament_id)
    db.session.execute(db.delete(TournamentResult).where(TournamentResult.tournament_id == tournament_id))
    rows = _frozen_br_rows(tournament) if tournament.is_battle_royale else _frozen_series_rows(tournament)
    for position, row in enumerate(rows, start=1):
        db.session.add(
            TournamentResult(tournament_id=tournament_id, frozen_position=position, frozen_rank=row["rank"], **row)
        )
    db.session.flush()


def _frozen_br_rows(tournament: Tournament) -> list[dict[str, Any]]:
    standings = LeaderboardService.calculate_br_standings(tournament.id)
    by_key = {p.key: p for p in tournament.participants}
    hidden = hidden_set(tournament.id)
    rows = [
        {
            "participant_id": by_key[s["participant_id"]].id,
            "rank": s["rank"],
            "points": s["total_points"],
            "wins": s["wins"],
            "total_kills": s["total_kills"],
            "best_placement": s["best_placement"],
            "avg_placement": Decimal(str(s["avg_placement"])),
            "matches_played": s["matches_played"],
        }
        for s in standings
    ]
    ranked = {s["participant_id"] for s in standings}
    unplaced = sorted(
        (p for p in tournament.participants if p.key not in ranked and p.id not in hidden),
        key=lambda p: (p.name.casefold(), p.key),
    )
    for participant in unplaced:
        rows.append(
            {"participant_id": participant.id, "rank": len(standings) + 1, "points": 0, "wins": 0, "matches_played": 0}
        )
    return rows


def _frozen_series_rows(tournament: Tournament) -> list[dict[str, Any]]:
    """Series tournaments rank by series won, then game difference, then games won; equal
    teams share a rank. Each row keeps the score of every series the team played and every
    counted game, as the seed's `series_score` / `game_results`."""
    all_series = list(
        db.session.scalars(
            select(Series).where(Series.tournament_id == tournament.id).order_by(Series.position, Series.id)
        )
    )
    stats = {p.id: {"series": 0, "won": 0, "lost": 0, "scores": {}, "games": []} for p in tournament.participants}
    for series in all_series:
        summary = summarise_series(series, series.games)
        for pid in (series.participant_a_id, series.participant_b_id):
            entry = stats[pid]
            key = series.participant_a.key if pid == series.participant_a_id else series.participant_b.key
            other = series.participant_b.key if pid == series.participant_a_id else series.participant_a.key
            entry["scores"][series.key] = summary["series_score"]
            entry["won"] += summary["series_score"][key]
            entry["lost"] += summary["series_score"][other]
            if summary["series_winner_id"] == key:
                entry["series"] += 1
            entry["games"].extend(
                {
                    "match_id": g["match_id"],
                    "series": series.key,
                    "game_number": g["game_number"],
                    "winner_id": g["winner_id"],
                }
                for g in summary["games"]
            )

    def sort_key(p: Participant) -> tuple[Any, ...]:
        s = stats[p.id]
        return (-s["series"], -(s["won"] - s["lost"]), -s["won"])

    hidden = hidden_set(tournament.id)
    ordered = sorted(
        (p for p in tournament.participants if p.id not in hidden),
        key=lambda p: (sort_key(p), p.name.casefold(), p.key),
    )
    rows = []
    rank, previous = 0, None
    for position, participant in enumerate(ordered, start=1):
        values = sort_key(participant)
        if values != previous:
            rank, previous = position, values
        s = stats[participant.id]
        rows.append(
            {
                "participant_id": participant.id,
                "rank": rank,
                "points": s["series"],
                "wins": s["series"],
                "matches_played": len(s["games"]),
                "series_score": s["scores"],
                "game_results": s["games"],
            }
        )
    return rows


def _checked_reason(reason: object) -> str:
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValidationError(f"reason: give a reason of at least {MIN_REASON_LENGTH} characters")
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(f"reason: at most {MAX_REASON_LENGTH} characters")
    if not storable(reason):
        raise ValidationError("reason: contains a NUL character or an unpaired surrogate")
    return reason.strip()


def _lock_final_results(tournament: Tournament, expected_version: int | None = None) -> list[TournamentResult]:
    """Take the tournament's lock (held until commit, so concurrent overrides run one after the
    other), then read its final results fresh; refused before completion. With
    `expected_version` (the results version a staff member previewed), refused if another change
    came in between: the order they confirmed is no longer the one that would result."""
    new_version = lock_tournament(tournament)
    if tournament.status != TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is not completed; placements can be overridden after completion")
    if expected_version is not None and new_version - 1 != expected_version:
        db.session.rollback()
        raise Conflict("the final results changed since you looked at them; check the current order and try again")
    return _locked_results(tournament.id)


def preview_override(tournament_id: int | str, participant_id: str, new_rank: Any, reason: Any) -> dict[str, Any]:
    """The final order an override would produce, checked like the override itself but without
    writing anything, plus the results version it was computed from (to confirm against)."""
    tournament = get_tournament(tournament_id)
    reason = _checked_reason(reason)
    if isinstance(new_rank, bool) or not isinstance(new_rank, int):
        raise ValidationError("new_rank: must be an integer")
    if tournament.status != TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is not completed; placements can be overridden after completion")
    version = tournament.results_version
    rows = _locked_results(tournament.id)
    target = _result_for(rows, participant_id, tournament.slug)
    if not 1 <= new_rank <= len(rows):
        raise ValidationError(f"new_rank: must be between 1 and {len(rows)}")
    before = _rank_map(rows)
    copies = [
        SimpleNamespace(
            rank=r.rank,
            frozen_rank=r.frozen_rank,
            frozen_position=r.frozen_position,
            is_override=r.is_override,
            participant=r.participant,
            override_reason=r.override_reason,
            override_actor_id=r.override_actor_id,
            override_timestamp=r.override_timestamp,
        )
        for r in rows
    ]
    mine = next(c for c, r in zip(copies, rows, strict=True) if r is target)
    for other in copies:
        if other is not mine and other.is_override and other.rank == new_rank:
            _unpin(other)  # type: ignore[arg-type]
    mine.is_override, mine.rank = True, new_rank
    _apply_pins(copies)  # type: ignore[arg-type]
    ordered = sorted(copies, key=lambda c: (c.rank, c.frozen_position))
    return {
        "version": version,
        "participant_id": participant_id,
        "participant_name": target.participant.name,
        "old_rank": target.rank,
        "new_rank": new_rank,
        "reason": reason,
        "rows": [
            {
                "rank": c.rank,
                "participant_id": c.participant.key,
                "participant_name": c.participant.name,
                "is_override": c.is_override,
                "old_rank": before[c.participant.key],
                "moved": before[c.participant.key] != c.rank,
                "is_target": c is mine,
            }
            for c in ordered
        ],
    }


def _locked_results(tournament_id: int) -> list[TournamentResult]:
    return list(
        db.session.scalars(
            select(TournamentResult)
            .where(TournamentResult.tournament_id == tournament_id)
            .options(selectinload(TournamentResult.participant))
            .order_by(TournamentResult.frozen_position)
            .execution_options(populate_existing=True)
        )
    )


def _result_for(results: list[TournamentResult], participant_key: str, slug: str) -> TournamentResult:
    for result in results:
        if result.participant.key == participant_key:
            return result
    raise NotFound(f"no participant {participant_key!r} in the results of {slug}")


def _staff_actor(actor_id: int) -> User:
    actor = db.session.get(User, actor_id) if isinstance(actor_id, int) else None
    if actor is None or not actor.is_active:
        raise PermissionDenied("an active staff account is required")
    if not actor.can_staff:
        raise PermissionDenied("only staff can change final placements")
    return actor


def _unpin(result: TournamentResult) -> None:
    result.is_override = False
    result.override_reason = None
    result.override_actor_id = None
    result.override_timestamp = None


def _apply_pins(results: list[TournamentResult]) -> None:
    """Pinned rows keep their rank; the rest fill the free ranks in frozen order, and rows
    that were tied when frozen stay tied (they share the first rank their group lands on)."""
    taken = {r.rank for r in results if r.is_override}
    free = iter(rank for rank in range(1, len(results) + 1) if rank not in taken)
    unpinned = [r for r in results if not r.is_override]
    unpinned.sort(key=lambda r: r.frozen_position)
    for _frozen_rank, group in itertools.groupby(unpinned, key=lambda r: r.frozen_rank):
        members = list(group)
        slots = [next(free) for _ in members]
        for member in members:
            member.rank = slots[0]


def _rank_map(results: list[TournamentResult]) -> dict[str, int]:
    return {r.participant.key: r.rank for r in results}


def _override_response(result: TournamentResult, participant_key: str, old_rank: int) -> dict[str, Any]:
    return {
        "success": True,
        "result_id": result.id,
        "participant_id": participant_key,
        "old_rank": old_rank,
        "new_rank": result.rank,
        "override_reason": result.override_reason,
        "override_actor_id": result.override_actor_id,
        "override_timestamp": iso_z(result.override_timestamp),
    }


def _result_row(result: TournamentResult, key: str, name: str) -> dict[str, Any]:
    return {
        "rank": result.rank,
        "participant_id": key,
        "participant_name": name,
        "is_override": result.is_override,
        "override_reason": result.override_reason,
        "override_actor_id": result.override_actor_id,
        "override_timestamp": iso_z(result.override_timestamp),
        "frozen_rank": result.frozen_rank,
        "total_points": result.points,
        "wins": result.wins,
        "total_kills": result.total_kills,
        "best_placement": result.best_placement,
        "avg_placement": float(result.avg_placement) if result.avg_placement is not None else None,
        "matches_played": result.matches_played,
        "series_score": result.series_score,
        "game_results": result.game_results,
    }
