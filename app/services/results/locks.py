"""Serialising result changes per tournament.

Every change to a tournament's results starts by bumping `results_version` with an UPDATE.
That one statement is the lock on both databases: PostgreSQL holds the row lock until commit,
and SQLite takes its write lock. A second writer on the same tournament waits until the first
commits, then reads what the first wrote, so two overrides can never interleave their
read-then-write and produce duplicate ranks. It also gives caches a version that changes with
every result change.
"""

from __future__ import annotations

from sqlalchemy import update

from app.errors import NotFound
from app.extensions import db
from app.models import Tournament


def lock_tournament(tournament: Tournament) -> int:
    """Take the tournament's write lock for this transaction and reload the tournament, so the
    caller decides on what the previous writer committed; return the new results version."""
    new_version = db.session.execute(
        update(Tournament)
        .where(Tournament.id == tournament.id)
        .values(results_version=Tournament.results_version + 1)
        .returning(Tournament.results_version)
    ).scalar_one_or_none()
    if new_version is None:
        raise NotFound(f"tournament {tournament.id} not found")
    db.session.refresh(tournament)
    return new_version
