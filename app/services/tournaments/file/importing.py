"""Writing a checked tournament file to the database (`tournaments import`, the portal's upload).

The whole file is checked first (`validation.py`) and then written in one transaction: all of
it or, on any error, nothing. Rows go in as bulk INSERTs of `RESULT_CHUNK` rows, so a file of
100,000 results is a few dozen statements and imports in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.errors import ValidationError
from app.extensions import db
from app.models import Match, MatchResult, Participant, PointAdjustment, Series, Tournament, TournamentStatus
from app.services import audit
from app.services.standings import final_results
from app.services.tournaments.file.validation import _check_document, _Plan, _slug_taken

# Rows per bulk INSERT: large enough that a 100,000-result file is a few dozen statements,
# small enough that progress moves and no driver parameter limit is reached.
RESULT_CHUNK = 5000


@dataclass
class ImportResult:
    tournament_id: int
    slug: str
    matches: dict[str, int]
    series: dict[str, int]


def import_tournament(
    doc: object, progress: Callable[[int, int], None] | None = None, *, actor_id: int | None = None
) -> ImportResult:
    """Check the whole file, then write it in one transaction: all of it or (on any error)
    nothing. `progress(done, total)` counts lobbies and series games. The import is audited
    (`actor_id` None: the command line)."""
    try:
        plan = _check_document(doc)
        result = _insert(plan, progress)
        if plan.tournament["status"] == TournamentStatus.COMPLETED.value:
            final_results.freeze_results(result.tournament_id)
        audit.record(
            "tournament.imported",
            target_type="tournament",
            target_id=result.tournament_id,
            tournament_id=result.tournament_id,
            actor_id=actor_id,
            after={"slug": result.slug, "matches": len(result.matches), "series": len(result.series)},
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def _insert(plan: _Plan, progress: Callable[[int, int], None] | None) -> ImportResult:
    total = plan.units
    done = 0

    def report() -> None:
        if progress is not None:
            progress(done, total)

    tournament = Tournament(**plan.tournament)
    db.session.add(tournament)
    try:
        db.session.flush()
    except IntegrityError:
        # Another import took the slug between our check and this insert.
        db.session.rollback()
        raise ValidationError(_slug_taken(plan.tournament["slug"])) from None
    tid = tournament.id
    report()

    if plan.participants:
        db.session.execute(insert(Participant), [{"tournament_id": tid, **p} for p in plan.participants])
    participant_ids: dict[str, int] = dict(
        db.session.execute(select(Participant.key, Participant.id).where(Participant.tournament_id == tid)).all()
    )

    if plan.matches:
        db.session.execute(
            insert(Match),
            [
                {
                    "tournament_id": tid,
                    "key": m["key"],
                    "stage": m["stage"],
                    "state": m["state"],
                    "completed_at": m["completed_at"],
                    "position": i,
                }
                for i, m in enumerate(plan.matches)
            ],
        )
        lobby_ids = _match_ids(tid)
        rows: list[dict[str, Any]] = []
        for m in plan.matches:
            match_id = lobby_ids[m["key"]]
            rows.extend(
                {
                    "match_id": match_id,
                    "participant_id": participant_ids[r["participant"]],
                    "placement": r["placement"],
                    "kills": r["kills"],
                }
                for r in m["results"]
            )
            done += 1
            if len(rows) >= RESULT_CHUNK:
                db.session.execute(insert(MatchResult), rows)
                rows = []
                report()
        if rows:
            db.session.execute(insert(MatchResult), rows)
        report()

    if plan.adjustments:
        db.session.execute(
            insert(PointAdjustment),
            [
                {
                    "tournament_id": tid,
                    "participant_id": participant_ids[a["participant"]],
                    "points": a["points"],
                    "reason": a["reason"],
                }
                for a in plan.adjustments
            ],
        )

    series_ids: dict[str, int] = {}
    if plan.series:
        db.session.execute(
            insert(Series),
            [
                {
                    "tournament_id": tid,
                    "key": s["key"],
                    "name": s["name"],
                    "best_of": s["best_of"],
                    "participant_a_id": participant_ids[s["participants"][0]],
                    "participant_b_id": participant_ids[s["participants"][1]],
                    "forfeit_winner_id": participant_ids[s["forfeit_winner"]] if s["forfeit_winner"] else None,
                    "position": i,
                }
                for i, s in enumerate(plan.series)
            ],
        )
        series_ids = dict(db.session.execute(select(Series.key, Series.id).where(Series.tournament_id == tid)).all())
        game_rows = [
            {
                "tournament_id": tid,
                "key": g["key"],
                "stage": None,
                "state": g["state"],
                "completed_at": g["completed_at"],
                "position": j,
                "series_id": series_ids[s["key"]],
                "game_number": j + 1,
                "winner_id": participant_ids[g["winner"]] if g["winner"] else None,
                "score_a": g["score"][0] if g["score"] else None,
                "score_b": g["score"][1] if g["score"] else None,
            }
            for s in plan.series
            for j, g in enumerate(s["games"])
        ]
        if game_rows:
            db.session.execute(insert(Match), game_rows)
        done += len(game_rows)
        report()

    all_ids = _match_ids(tid)
    ordered_keys = [m["key"] for m in plan.matches] + [g["key"] for s in plan.series for g in s["games"]]
    return ImportResult(
        tournament_id=tid,
        slug=plan.tournament["slug"],
        matches={key: all_ids[key] for key in ordered_keys},
        series={s["key"]: series_ids[s["key"]] for s in plan.series},
    )


def _match_ids(tournament_id: int) -> dict[str, int]:
    return dict(db.session.execute(select(Match.key, Match.id).where(Match.tournament_id == tournament_id)).all())
