"""Series (best-of) summaries, and the series of a tournament in the order they are shown.

Rule: a series of best-of N is won by the first participant to `N // 2 + 1` game wins. A forfeit
decides it regardless of games. With every one of the N games played and nobody at the majority
(an even best-of split, or drawn maps), it is a draw; otherwise it is in progress. Only completed
games count, in game-number order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import Match, MatchState, Series, is_db_id
from app.services.tournaments.lookup import get_tournament


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


def series_summary(match_ids: Sequence[int]) -> dict[str, Any]:
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


def series_summary_by_key(tournament_id: int | str, series_key: str) -> dict[str, Any]:
    tournament = get_tournament(tournament_id)
    series = db.session.scalar(select(Series).where(Series.tournament_id == tournament.id, Series.key == series_key))
    if series is None:
        raise NotFound(f"no series {series_key!r} in {tournament.slug}")
    return summarise_series(series, series.games)


def ordered_series(tournament_id: int) -> list[Series]:
    """The tournament's series in bracket order, with both sides and the games loaded (the
    public page and the widget draw every one of them)."""
    return list(
        db.session.scalars(
            select(Series)
            .where(Series.tournament_id == tournament_id)
            .options(selectinload(Series.participant_a), selectinload(Series.participant_b), selectinload(Series.games))
            .order_by(Series.position, Series.id)
        )
    )


def series_row(series: Series) -> dict[str, Any]:
    """What a page shows of one series: both sides, the score and the winner's name."""
    summary = summarise_series(series, series.games)
    names = {series.participant_a.key: series.participant_a.name, series.participant_b.key: series.participant_b.name}
    winner = summary["series_winner_id"]
    return {
        "series": series,
        "summary": summary,
        "a": series.participant_a,
        "b": series.participant_b,
        "score_a": summary["series_score"][series.participant_a.key],
        "score_b": summary["series_score"][series.participant_b.key],
        "winner_name": names.get(winner) if winner else None,
    }
