"""Writing a tournament out as a file (`tournaments export`): the same form the import reads, so
import -> export -> import gives the same standings. Overrides of final results and voided
lobbies are not part of the format and are not exported."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import scoring
from app.errors import NotFound
from app.extensions import db
from app.models import BATTLE_ROYALE_GAMES, Match, MatchResult, Participant, PointAdjustment, Series, Tournament
from app.services.inputs.fieldspec import quote as _quote
from app.services.registration.roster_visibility import is_visible
from app.services.tournaments.file.rules import FORMAT
from app.timestamps import iso_z as format_timestamp


def export_tournament(slug: str) -> dict[str, Any]:
    """The tournament as a file that imports back to the same standings (overrides of final
    results are not part of the format and are not exported)."""
    tournament = db.session.scalar(select(Tournament).where(Tournament.slug == slug))
    if tournament is None:
        raise NotFound(f"no tournament with slug {_quote(slug)}")
    tid = tournament.id
    is_br = tournament.game in BATTLE_ROYALE_GAMES

    info: dict[str, Any] = {
        "name": tournament.name,
        "slug": tournament.slug,
        "game": tournament.game,
        "status": tournament.status,
    }
    if tournament.advancing is not None:
        info["advancing"] = tournament.advancing
    if is_br:
        preset = tournament.scoring_preset or scoring.DEFAULT_PRESET[tournament.game]
        info["scoring"] = {"preset": preset}
        if preset == "custom":
            info["scoring"].update(
                placement_points=list(tournament.placement_points or []),
                kill_points=tournament.kill_points,
                tiebreakers=list(tournament.tiebreakers or []),
            )

    participants = db.session.scalars(
        select(Participant)
        .where(Participant.tournament_id == tid, is_visible(Participant.id, tid))
        .order_by(Participant.id)
    ).all()
    key_of = {p.id: p.key for p in participants}
    doc: dict[str, Any] = {
        "format": FORMAT,
        "tournament": info,
        "participants": [
            {"id": p.key, "name": p.name, **({"tag": p.tag} if p.tag is not None else {})} for p in participants
        ],
    }

    if is_br:
        doc["matches"] = _export_lobbies(tid, key_of)
        adjustments = db.session.scalars(
            select(PointAdjustment).where(PointAdjustment.tournament_id == tid).order_by(PointAdjustment.id)
        ).all()
        doc["adjustments"] = [
            {"participant": key_of[a.participant_id], "points": a.points, "reason": a.reason} for a in adjustments
        ]
    else:
        doc["series"] = _export_series(tid, key_of)
    return doc


def _export_lobbies(tournament_id: int, key_of: dict[int, str]) -> list[dict[str, Any]]:
    lobbies = db.session.execute(
        select(Match.id, Match.key, Match.stage, Match.state, Match.completed_at)
        # A voided lobby was entered by mistake; the file has no way to say so, and exporting it
        # as played would make it count again on import.
        .where(Match.tournament_id == tournament_id, Match.series_id.is_(None), Match.voided_at.is_(None))
        .order_by(Match.position, Match.id)
    ).all()
    results: dict[int, list[dict[str, Any]]] = {row.id: [] for row in lobbies}
    rows = db.session.execute(
        select(MatchResult.match_id, MatchResult.participant_id, MatchResult.placement, MatchResult.kills)
        .join(Match, Match.id == MatchResult.match_id)
        .where(Match.tournament_id == tournament_id, Match.series_id.is_(None), Match.voided_at.is_(None))
        .order_by(MatchResult.match_id, MatchResult.placement)
    )
    for match_id, participant_id, placement, kills in rows:
        results[match_id].append({"participant": key_of[participant_id], "placement": placement, "kills": kills})
    return [
        {
            "key": row.key,
            "stage": row.stage,
            "state": row.state,
            "completed_at": format_timestamp(row.completed_at),
            "results": results[row.id],
        }
        for row in lobbies
    ]


def _export_series(tournament_id: int, key_of: dict[int, str]) -> list[dict[str, Any]]:
    all_series = db.session.scalars(
        select(Series).where(Series.tournament_id == tournament_id).order_by(Series.position, Series.id)
    ).all()
    games: dict[int, list[Match]] = {s.id: [] for s in all_series}
    for game in db.session.scalars(
        select(Match)
        .where(Match.tournament_id == tournament_id, Match.series_id.is_not(None))
        .order_by(Match.series_id, Match.game_number, Match.id)
    ):
        games[game.series_id].append(game)  # type: ignore[index]

    exported = []
    for s in all_series:
        side_a, side_b = key_of[s.participant_a_id], key_of[s.participant_b_id]
        entry: dict[str, Any] = {"key": s.key}
        if s.name:
            entry["name"] = s.name
        entry.update(
            best_of=s.best_of,
            participants=[side_a, side_b],
            forfeit_winner=key_of.get(s.forfeit_winner_id) if s.forfeit_winner_id else None,
            games=[
                {
                    "key": g.key,
                    "state": g.state,
                    "completed_at": format_timestamp(g.completed_at),
                    "winner": key_of.get(g.winner_id) if g.winner_id else None,
                    "score": (
                        {side_a: g.score_a, side_b: g.score_b}
                        if g.score_a is not None and g.score_b is not None
                        else None
                    ),
                }
                for g in games[s.id]
            ],
        )
        exported.append(entry)
    return exported
