"""Builders for test data straight through the models (no import file involved), so engine
tests do not depend on the file importer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.extensions import db
from app.models import Match, MatchResult, Participant, PointAdjustment, Series, Tournament

T0 = datetime(2025, 11, 13, 14, 0, tzinfo=UTC)


def br_tournament(
    slug="br-cup",
    *,
    game="freefire",
    preset=None,
    teams=("A", "B", "C", "D"),
    status="live",
    placement_points=None,
    kill_points=None,
    tiebreakers=None,
) -> Tournament:
    tournament = Tournament(
        slug=slug,
        name=slug.replace("-", " ").title(),
        game=game,
        status=status,
        scoring_preset=preset,
        placement_points=placement_points,
        kill_points=kill_points,
        tiebreakers=tiebreakers,
    )
    db.session.add(tournament)
    db.session.flush()
    for key in teams:
        db.session.add(Participant(tournament_id=tournament.id, key=key, name=f"Team {key}"))
    db.session.flush()
    return tournament


def participant(tournament: Tournament, key: str) -> Participant:
    return db.session.scalar(db.select(Participant).filter_by(tournament_id=tournament.id, key=key))


def lobby(
    tournament: Tournament,
    results: list[tuple[str, int, int]],
    *,
    key: str | None = None,
    state: str = "completed",
    minutes: int | None = None,
    stage: str | None = None,
    completed_at: datetime | None = None,
) -> Match:
    """`results` is [(team key, placement, kills)]; `minutes` after T0 sets completed_at."""
    count = db.session.scalar(db.select(db.func.count(Match.id)).filter_by(tournament_id=tournament.id))
    if completed_at is None and state in ("completed", "disputed"):
        completed_at = T0 + timedelta(minutes=minutes if minutes is not None else 40 * count)
    match = Match(
        tournament_id=tournament.id,
        key=key or f"m{count + 1}",
        stage=stage,
        state=state,
        completed_at=completed_at,
        position=count,
    )
    db.session.add(match)
    db.session.flush()
    for team, placement, kills in results:
        db.session.add(
            MatchResult(
                match_id=match.id,
                participant_id=participant(tournament, team).id,
                placement=placement,
                kills=kills,
            )
        )
    db.session.flush()
    return match


def adjust(tournament: Tournament, team: str, points: int, reason: str = "Penalty for late lobby") -> None:
    db.session.add(
        PointAdjustment(
            tournament_id=tournament.id, participant_id=participant(tournament, team).id, points=points, reason=reason
        )
    )
    db.session.flush()


def series_tournament(slug="val-cup", *, game="valorant", teams=("A", "B", "C", "D"), status="live") -> Tournament:
    return br_tournament(slug, game=game, teams=teams, status=status)


def series(tournament: Tournament, key: str, a: str, b: str, best_of: int, forfeit_winner: str | None = None) -> Series:
    count = db.session.scalar(db.select(db.func.count(Series.id)).filter_by(tournament_id=tournament.id))
    s = Series(
        tournament_id=tournament.id,
        key=key,
        name=key.upper(),
        best_of=best_of,
        participant_a_id=participant(tournament, a).id,
        participant_b_id=participant(tournament, b).id,
        forfeit_winner_id=participant(tournament, forfeit_winner).id if forfeit_winner else None,
        position=count,
    )
    db.session.add(s)
    db.session.flush()
    return s


def game(
    s: Series,
    winner: str | None,
    score: tuple[int, int] | None = None,
    *,
    state: str = "completed",
) -> Match:
    number = len(s.games) + 1
    tournament = db.session.get(Tournament, s.tournament_id)
    match = Match(
        tournament_id=s.tournament_id,
        key=f"{s.key}-{number}",
        state=state,
        completed_at=T0 + timedelta(hours=number) if state == "completed" else None,
        position=number - 1,
        series_id=s.id,
        game_number=number,
        winner_id=participant(tournament, winner).id if winner else None,
        score_a=score[0] if score else None,
        score_b=score[1] if score else None,
    )
    db.session.add(match)
    db.session.flush()
    db.session.refresh(s)
    return match
