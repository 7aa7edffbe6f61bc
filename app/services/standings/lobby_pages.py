"""The lobby list under a board: newest first, LOBBIES_PER_PAGE per page (`?lobbies=N`), so a
tournament with tens of thousands of lobbies keeps a small page and fragment. A voided lobby was
entered by mistake: the public list leaves it out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Match, Tournament

LOBBIES_PER_PAGE = 20


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
