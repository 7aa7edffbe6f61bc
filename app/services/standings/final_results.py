"""Completing a tournament and its final results.

Rules:
- Only a live tournament can be completed, and not while any (unvoided) match is live or
  disputed, since those results may still change. Completing is audited and sends
  `tournament_completed`.
- Completing freezes the standings into `TournamentResult` rows, in one transaction with the
  status change. Battle royale: the standings rows (app.services.standings.engine); teams without a
  counted result share the last place, by name. Series: by series won, then game difference,
  then games won; equal teams share a rank. Hidden (withdrawn) rosters are left out.
- The results read back in rank order (staff overrides applied, app.services.standings.overrides),
  ties in frozen order; they exist only once the tournament is completed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app import signals
from app.errors import Conflict
from app.extensions import db
from app.models import Match, MatchState, Participant, Series, Tournament, TournamentResult, TournamentStatus, utcnow
from app.services import audit
from app.services.registration.roster_visibility import hidden_set
from app.services.results.locks import lock_tournament
from app.services.standings.engine import br_standings
from app.services.standings.series_summaries import summarise_series
from app.services.tournaments.lookup import get_tournament
from app.timestamps import iso_z


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
    standings = br_standings(tournament.id)
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
