"""What a battle-royale tournament shows now: one rule for the public page, its live fragment, the
embeddable widget, the stream overlay and both standings downloads (CSV and JSON), so no two of
them can disagree about who is where.

Rule:
- Running (any status before completed), or any stage/match filter: the standings the
  leaderboard engine computes over the counted matches (`app.services.standings.engine`).
  Without a filter every team of the tournament is listed: teams with no counted result yet follow
  at 0 points, sharing the last rank, by name (so a page lists its teams before the first result;
  these are the same rows completion would freeze).
- Completed, without a filter: the final results in rank order with staff overrides applied (the
  same order as `GET /api/tournaments/<id>/results/`), each row carrying the standings breakdown
  (placement, kill and adjustment points) it was frozen from. Such rows are marked `final`; a
  pinned row carries `is_override`, `override_reason` and the `frozen_rank` it was computed at.
- Movement (▲/▼ since the previous match) describes a running event: once the tournament is
  completed nothing moves any more, filtered or not (`shows_movement`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Participant, Tournament, TournamentStatus
from app.services.registration.roster_visibility import is_visible
from app.services.standings import final_results
from app.services.standings.engine import STANDINGS_FIELDS, br_standings

# The figures a final-results row keeps of its own (frozen at completion, never recomputed).
_FROZEN_FIGURES = ("total_points", "wins", "total_kills", "best_placement", "avg_placement", "matches_played")


def is_final(tournament: Tournament, *, filtered: bool) -> bool:
    """True when the rows shown are the final results (completed, no filter)."""
    return tournament.status == TournamentStatus.COMPLETED.value and not filtered


def shows_movement(tournament: Tournament) -> bool:
    return tournament.status != TournamentStatus.COMPLETED.value


def arrange(tournament: Tournament, engine_rows: Sequence[dict[str, Any]], *, filtered: bool) -> list[dict[str, Any]]:
    """The rows shown now, from the engine's standings rows for the same filter (see the rule)."""
    if is_final(tournament, filtered=filtered):
        return _final_rows(tournament, engine_rows)
    rows = [{**row, "final": False, "is_override": False} for row in engine_rows]
    if filtered:
        return rows
    listed = {row["participant_id"] for row in engine_rows}
    waiting = db.session.execute(
        select(Participant.key, Participant.name).where(
            Participant.tournament_id == tournament.id, is_visible(Participant.id, tournament.id)
        )
    ).all()
    last_rank = len(engine_rows) + 1
    for key, name in sorted((p for p in waiting if p[0] not in listed), key=lambda p: (p[1].casefold(), p[0])):
        rows.append(_zero_row(key, name, last_rank))
    return rows


def standings_now(
    tournament: Tournament, match_ids: Sequence[int] | None = None, stage: str | None = None
) -> list[dict[str, Any]]:
    """The rows shown now for these filters (downloads use this; the page builds the same rows
    from the engine rows it has already read, through `arrange`)."""
    engine_rows = br_standings(tournament.id, match_ids=match_ids, stage=stage)
    return arrange(tournament, engine_rows, filtered=match_ids is not None or stage is not None)


def _zero_row(key: str, name: str, rank: int) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(STANDINGS_FIELDS, 0)
    row.update(
        rank=rank,
        participant_id=key,
        participant_name=name,
        best_placement=None,
        avg_placement=None,
        tiebreaker_timestamp=None,
        decided_by=None,
        final=False,
        is_override=False,
    )
    return row


def _final_rows(tournament: Tournament, engine_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    computed = {row["participant_id"]: row for row in engine_rows}
    shown = []
    for result in final_results.results(tournament.id):
        key = result["participant_id"]
        row = dict(computed.get(key) or _zero_row(key, result["participant_name"], result["rank"]))
        for name in _FROZEN_FIGURES:
            if result.get(name) is not None:
                row[name] = result[name]
        row.update(
            rank=result["rank"],
            participant_name=result["participant_name"],
            final=True,
            is_override=result["is_override"],
            override_reason=result["override_reason"],
            frozen_rank=result["frozen_rank"],
        )
        if result["is_override"]:
            row["decided_by"] = None  # staff placed it; no tiebreaker decided this rank

        shown.append(row)
    return shown
