"""Finding the tournament a request, command or file names.

Rule: the API and the services accept a tournament's numeric id or its slug (an id is tried
first, so a slug made only of digits is reached by id); the command line names tournaments by
slug only. An unknown tournament is `NotFound` naming what was asked for, never a 500, and text
that could not be stored (NUL, unpaired surrogates) names nothing.
"""

from __future__ import annotations

from sqlalchemy import select

from app.errors import NotFound
from app.extensions import db
from app.models import Tournament, is_db_id
from app.services.inputs.text import storable


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
