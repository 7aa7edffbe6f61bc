"""Series run from the staff portal: create a series, add its games, record a played game,
forfeit.

Rules (contract §2, as for a file's series):
- A series is between two different registered participants, best of 1, 2, 3, 5 or 7, with a
  key unique among the tournament's series and not used by any match.
- Games are numbered in order and a series has at most `best_of` of them; no game may be added
  once the series is decided (won, or forfeited).
- A played game is recorded with its winner (one of the two) and optionally both scores, the
  winner's higher; a game without a winner needs a level score (a drawn map). The game is
  created and completed in one transaction, with the same checks as completing a game through
  the API (`states.change_match_state`).
- A forfeit names the winner and a reason and decides the series outright.
- Nothing changes after the tournament is completed. Every change is audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app import signals
from app.errors import Conflict, DomainError, NotFound, ValidationError
from app.extensions import db
from app.models import Match, MatchState, Participant, Series, Tournament, TournamentStatus, utcnow
from app.services import audit
from app.services.inputs.text import check_name, storable
from app.services.results.locks import lock_tournament
from app.services.standings.series_summaries import summarise_series
from app.services.tournaments import states
from app.services.tournaments.file import BEST_OF_CHOICES, ID_RE, MAX_KEY, MAX_NAME, MAX_REASON
from app.services.tournaments.lookup import get_tournament


def _open(tournament: Tournament) -> None:
    if tournament.is_battle_royale:
        raise ValidationError(f"{tournament.slug} is battle royale; it is played in lobbies, not series")
    if tournament.status == TournamentStatus.COMPLETED.value:
        raise Conflict(f"{tournament.slug} is completed; its results are frozen")


def get_series(tournament: Tournament, key: str) -> Series:
    series = (
        db.session.scalar(select(Series).where(Series.tournament_id == tournament.id, Series.key == key))
        if isinstance(key, str) and storable(key)
        else None
    )
    if series is None:
        raise NotFound(f"no series {key!r} in {tournament.slug}")
    db.session.refresh(series)
    return series


def _participant(tournament: Tournament, key: Any, field_name: str) -> Participant:
    participant = (
        db.session.scalar(select(Participant).where(Participant.tournament_id == tournament.id, Participant.key == key))
        if isinstance(key, str) and storable(key)
        else None
    )
    if participant is None:
        raise ValidationError(f"{field_name}: choose a registered participant")
    return participant


def create_series(
    ref: int | str, key: Any, name: Any, best_of: Any, side_a: Any, side_b: Any, actor_id: int | None
) -> Series:
    tournament = get_tournament(ref)
    if not isinstance(key, str) or not key.strip() or len(key.strip()) > MAX_KEY or not ID_RE.match(key.strip()):
        raise ValidationError(f"key: up to {MAX_KEY} letters, digits, '_', '.' or '-', such as sf1")
    key = key.strip()
    sent_name = name if isinstance(name, str) else ""
    name = sent_name.strip()
    if len(name) > MAX_NAME or not storable(name):
        raise ValidationError(f"name: at most {MAX_NAME} characters of text")
    check_name(sent_name, "name")  # as sent: strip() would drop a trailing U+0085 or U+2028
    if isinstance(best_of, bool) or best_of not in BEST_OF_CHOICES:
        raise ValidationError(f"best_of: one of {', '.join(map(str, BEST_OF_CHOICES))}")
    lock_tournament(tournament)
    _open(tournament)
    a = _participant(tournament, side_a, "participant_a")
    b = _participant(tournament, side_b, "participant_b")
    if a.id == b.id:
        raise ValidationError("participant_b: a participant cannot play itself")
    if db.session.scalar(select(Series.id).where(Series.tournament_id == tournament.id, Series.key == key)):
        raise ValidationError(f"key: {key!r} is already a series of this tournament")
    if db.session.scalar(select(Match.id).where(Match.tournament_id == tournament.id, Match.key == key)):
        raise ValidationError(f"key: {key!r} is already a game key of this tournament")
    position = (
        db.session.scalar(select(func.max(Series.position)).where(Series.tournament_id == tournament.id)) or 0
    ) + 1
    series = Series(
        tournament_id=tournament.id,
        key=key,
        name=name,
        best_of=best_of,
        participant_a_id=a.id,
        participant_b_id=b.id,
        position=position,
    )
    db.session.add(series)
    db.session.flush()
    audit.record(
        "series.created",
        target_type="series",
        target_id=series.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        after={"key": key, "best_of": best_of, "participants": [a.key, b.key]},
    )
    db.session.commit()
    return series


def _new_game(tournament: Tournament, series: Series, state: str) -> Match:
    summary = summarise_series(series, series.games)
    if summary["status"] in ("completed", "forfeit"):
        raise Conflict(f"series {series.key} is already decided; no more games")
    if len(series.games) >= series.best_of:
        raise Conflict(f"series {series.key} is best of {series.best_of}; it has all its games")
    number = len(series.games) + 1
    taken = set(db.session.scalars(select(Match.key).where(Match.tournament_id == tournament.id)))
    key, suffix = f"{series.key}-{number}", 2
    while key in taken:
        key, suffix = f"{series.key}-{number}-{suffix}", suffix + 1
    position = (
        db.session.scalar(select(func.max(Match.position)).where(Match.tournament_id == tournament.id)) or 0
    ) + 1
    game = Match(
        tournament_id=tournament.id,
        key=key,
        state=state,
        position=position,
        series_id=series.id,
        game_number=number,
    )
    db.session.add(game)
    db.session.flush()
    return game


def add_game(ref: int | str, series_key: str, actor_id: int | None) -> Match:
    """A scheduled game, to be started and completed through the match states."""
    tournament = get_tournament(ref)
    lock_tournament(tournament)
    _open(tournament)
    series = get_series(tournament, series_key)
    game = _new_game(tournament, series, MatchState.SCHEDULED.value)
    audit.record(
        "series.game_added",
        target_type="match",
        target_id=game.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        after={"series": series.key, "key": game.key, "game_number": game.game_number},
    )
    db.session.commit()
    return game


def record_game(
    ref: int | str, series_key: str, winner: Any, score: dict[str, Any] | None, actor_id: int | None
) -> Match:
    """A game that has been played, entered with its result in one step."""
    tournament = get_tournament(ref)
    try:
        lock_tournament(tournament)
        _open(tournament)
        series = get_series(tournament, series_key)
        game = _new_game(tournament, series, MatchState.SCHEDULED.value)
        db.session.refresh(series)
        states.apply_game_result(game, winner or None, score)
        game.state = MatchState.COMPLETED.value
        game.completed_at = utcnow().replace(microsecond=0)
        audit.record(
            "series.game_recorded",
            target_type="match",
            target_id=game.id,
            tournament_id=tournament.id,
            actor_id=actor_id,
            after={
                "series": series.key,
                "key": game.key,
                "game_number": game.game_number,
                "winner": winner or None,
                "score": score,
            },
        )
        # Entered already played, like a lobby recorded with its result: a new row, not a state
        # change, so it announces new standings but no match.completed (the events' rule).
        signals.leaderboard_updated.send(tournament, tournament_id=tournament.id)
        db.session.commit()
    except DomainError:
        db.session.rollback()
        raise
    return game


def forfeit(ref: int | str, series_key: str, winner: Any, reason: Any, actor_id: int | None) -> Series:
    tournament = get_tournament(ref)
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("reason: required (why the other side forfeits)")
    if len(reason) > MAX_REASON or not storable(reason):
        raise ValidationError(f"reason: at most {MAX_REASON} characters of text")
    lock_tournament(tournament)
    _open(tournament)
    series = get_series(tournament, series_key)
    sides = {series.participant_a.key: series.participant_a_id, series.participant_b.key: series.participant_b_id}
    if winner not in sides:
        raise ValidationError(f"winner: {' or '.join(sides)}")
    summary = summarise_series(series, series.games)
    if summary["status"] in ("completed", "forfeit"):
        raise Conflict(f"series {series.key} is already decided ({summary['status']})")
    series.forfeit_winner_id = sides[winner]
    audit.record(
        "series.forfeit",
        target_type="series",
        target_id=series.id,
        tournament_id=tournament.id,
        actor_id=actor_id,
        before={"status": summary["status"]},
        after={"status": "forfeit", "winner": winner},
        reason=reason.strip(),
    )
    signals.leaderboard_updated.send(tournament, tournament_id=tournament.id)
    db.session.commit()
    return series


def list_series(tournament: Tournament) -> list[tuple[Series, dict[str, Any]]]:
    rows = db.session.scalars(
        select(Series).where(Series.tournament_id == tournament.id).order_by(Series.position, Series.id)
    )
    return [(s, summarise_series(s, s.games)) for s in rows]
